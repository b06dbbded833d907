/**
 * The cait-ensemble/1 JSON of a file made in the page, as a Blob, built a
 * slice of members at a time with pauses between slices, so a large
 * ensemble does not freeze the page (ensembleJsonChunks on 1000 members of
 * the reduced protocol took ~0.9 s in one piece). The text is exactly
 * ensembleJsonChunks(file).join('') (src/ensemble/output.ts is the one
 * writer of the format; this only cuts its work into slices).
 */
import { ensembleJsonChunks, type EnsembleFile } from '../../ensemble/output.js';
import { yieldToEventLoop } from '../../ensemble/wire/codec.js';

/** The JSON text pieces of `file`, `slice` members per step, yielding between steps. */
export async function ensembleJsonPieces(file: EnsembleFile, slice = 25): Promise<string[]> {
  const n = file.members.length;
  if (n <= slice) return ensembleJsonChunks(file);
  const out: string[] = [];
  for (let a = 0; a < n; a += slice) {
    const b = Math.min(n, a + slice);
    const part = ensembleJsonChunks({ ...file, members: file.members.slice(a, b) });
    if (a === 0) out.push(part[0]);
    const members = part.slice(1, -1);
    // within a slice the last member ends the array ("\n"); unless it is the last of all, it is followed by a comma
    if (b < n) members[members.length - 1] = members[members.length - 1].replace(/\n$/, ',\n');
    out.push(...members);
    if (b === n) out.push(part[part.length - 1]);
    await yieldToEventLoop();
  }
  return out;
}

/** A Blob of the file's JSON (see ensembleJsonPieces). */
export async function ensembleJsonBlob(file: EnsembleFile): Promise<Blob> {
  return new Blob(await ensembleJsonPieces(file), { type: 'application/json' });
}
