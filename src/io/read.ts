/**
 * Reading a text file piece by piece (Node): a large SIMS export is parsed
 * from 1 MB pieces (src/sims Lines) and never held whole in memory.
 *
 * @example
 * const raw = parseSims(readTextPieces('profile.txt'), 'auto', 'profile.txt');
 */
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/**
 * The UTF-8 text of a file as an iterable of pieces. The file is opened at
 * once (so a missing file or a directory throws here, with the system's
 * code), read lazily and closed at the end of the iteration (or when it is
 * abandoned). It can be iterated once.
 */
export function readTextPieces(path: string, pieceBytes = 1 << 20): Iterable<string> {
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), { code: 'EISDIR' });
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let used = false;
  return {
    [Symbol.iterator]: function* () {
      if (used) throw new Error(`${path}: its pieces can be read once`);
      used = true;
      const decoder = new StringDecoder('utf8');
      const buf = Buffer.alloc(pieceBytes);
      try {
        for (;;) {
          const n = readSync(fd, buf, 0, pieceBytes, null);
          if (n === 0) break;
          const s = decoder.write(buf.subarray(0, n));
          if (s) yield s;
        }
        const end = decoder.end();
        if (end) yield end;
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** The first `bytes` bytes of a file as text (a header to look at). */
export function readTextHead(path: string, bytes = 1 << 16): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return new StringDecoder('utf8').write(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}
