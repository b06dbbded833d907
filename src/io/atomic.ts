/**
 * Atomic output files: every file is first written to a temporary file in
 * its own directory and renamed over the target only once all files of the
 * batch are written. A failure before the renames leaves every existing
 * target untouched and removes the temporaries; nothing is ever deleted.
 *
 * @example
 *   writeFilesAtomic([
 *     { path: 'results/paper.json', data: json },
 *     { path: 'results/paper_stage1.csv', data: csv },
 *   ]);
 */
import { mkdirSync, writeFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface OutputFile {
  path: string;
  data: string | Uint8Array;
}

export interface AtomicOptions {
  /** Test hook: called after every temporary file is written, before the first rename. Throwing aborts the batch. */
  beforeCommit?: (temps: string[]) => void;
}

/** Create a directory and its parents (no error if it exists). */
export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/** Create the parent directory of a file path. */
export function ensureParentDir(path: string): void {
  ensureDir(dirname(path));
}

/** True if `path` exists and is a directory. */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Write several files so that either all are replaced or (on an error before
 * the renames) none is. Parent directories are created as needed.
 * Renames are atomic per file; the window in which a crash could leave a
 * partial batch is only the few rename calls at the end.
 */
export function writeFilesAtomic(files: readonly OutputFile[], opts: AtomicOptions = {}): void {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new Error(`output ${f.path} is named twice`);
    seen.add(f.path);
    if (isDirectory(f.path)) throw new Error(`output ${f.path} is a directory`);
  }
  const temps: string[] = [];
  try {
    for (const f of files) {
      try {
        ensureParentDir(f.path);
        const tmp = tempPathFor(f.path);
        temps.push(tmp);
        writeFileSync(tmp, f.data, { flag: 'wx' });
      } catch (e) {
        // name the user's file, not the hidden temporary one
        const err = e as NodeJS.ErrnoException;
        throw new Error(`${f.path}: ${err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.code === 'EROFS' ? 'read-only file system' : err.code === 'ENOSPC' ? 'no space left on the device' : err.message}`);
      }
    }
    opts.beforeCommit?.(temps.slice());
  } catch (e) {
    for (const t of temps) rmSync(t, { force: true });
    throw e;
  }
  for (let i = 0; i < files.length; i++) {
    try {
      renameSync(temps[i], files[i].path);
    } catch (e) {
      for (const t of temps.slice(i)) rmSync(t, { force: true });
      throw e;
    }
  }
}

/** Write one file atomically (temporary file in the same directory, then rename). */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicOptions = {}): void {
  writeFilesAtomic([{ path, data }], opts);
}
