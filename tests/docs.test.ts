/**
 * The repository documents itself: no file outside docs/ sends the reader to
 * a document that is not in the repository (a model description kept
 * elsewhere, a machine's notes), and every `docs/<page>.md` a file cites
 * exists. Scans the tracked text files (git ls-files).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** References to documents that live outside the repository. */
const OUTSIDE = /PHYSICS(\.md)?\s*§|PHYSICS\.md|ENVIRONMENT\.md|STYLE\.md|shared\/reference|\/work\/shared/;

/**
 * Files that still cite an outside document and belong to the GPU engine's
 * rebuild (issue 9), which replaces those references there. An entry whose
 * file no longer matches fails the test: remove it then.
 */
const PENDING_ELSEWHERE: Record<string, string> = {};


const TEXT = /\.(ts|mjs|js|json|md|html|sh|wgsl|csv|txt|yml|yaml)$|^\.ci\/run$/;

function trackedTextFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return out
    .split('\0')
    .filter((f) => f !== '' && TEXT.test(f) && !f.startsWith('docs/') && f !== 'package-lock.json')
    .filter((f) => existsSync(join(REPO_ROOT, f)));
}

describe('references to documents', () => {
  const files = trackedTextFiles();

  it('scans the sources, tests, scripts and the README', () => {
    expect(files).toContain('README.md');
    expect(files).toContain('src/cli/main.ts');
    expect(files).toContain('tests/docs.test.ts');
  });

  it('no file outside docs/ cites a document that is not in the repository', () => {
    const offenders: string[] = [];
    for (const f of files) {
      if (f === 'tests/docs.test.ts' || f in PENDING_ELSEWHERE) continue;
      readFileSync(join(REPO_ROOT, f), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (OUTSIDE.test(line)) offenders.push(`${f}:${i + 1}: ${line.trim().slice(0, 120)}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it('the files left to the GPU rebuild still need it (else drop them from the list)', () => {
    for (const f of Object.keys(PENDING_ELSEWHERE)) {
      const path = join(REPO_ROOT, f);
      expect(existsSync(path) && OUTSIDE.test(readFileSync(path, 'utf8')), `${f}: ${PENDING_ELSEWHERE[f]}`).toBe(true);
    }
  });

  it('every docs/<page>.md a file cites exists', () => {
    const missing: string[] = [];
    for (const f of files) {
      const text = readFileSync(join(REPO_ROOT, f), 'utf8');
      for (const m of text.matchAll(/\bdocs\/([A-Za-z0-9_-]+\.md)/g)) {
        if (!existsSync(join(REPO_ROOT, 'docs', m[1]))) missing.push(`${f}: docs/${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('the docs index links every page of docs/', () => {
    const index = readFileSync(join(REPO_ROOT, 'docs', 'README.md'), 'utf8');
    const pages = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'docs'], { cwd: REPO_ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => /^docs\/[^/]+\.md$/.test(f) && f !== 'docs/README.md');
    expect(pages.length).toBeGreaterThanOrEqual(3);
    for (const p of pages) expect(index, p).toContain(`(${p.slice('docs/'.length)})`);
  });
});
