/**
 * The wire format between Node (`cait headless`, puppeteer) and the page's
 * engine runner: JSON in which the numbers JSON cannot hold (NaN, ±Infinity)
 * are written as `{"$num":"NaN"}` and typed arrays as plain arrays, so an
 * EnsembleRequest or EnsembleResult arrives exactly as it was sent.
 * Results travel as pieces (a header and groups of members, each piece at
 * most about `maxPieceChars`), encoded with a pause between members so the
 * page never blocks for long on a big result. Platform-neutral.
 *
 * @example
 * const pieces = await encodeResult(result);   // in the page
 * const back = decodeResult(pieces);            // in Node: deep-equal to result
 */
import type { EnsembleResult, MemberResult } from '../types.js';

const TAG = '$num';

function replacer(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return { [TAG]: String(v) };
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  return v;
}

function reviver(_key: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === TAG && typeof o[TAG] === 'string') return Number(o[TAG]);
  }
  return v;
}

/** JSON text of any value, NaN/±Infinity kept (tagged), typed arrays as arrays. */
export function encodeValue(value: unknown): string {
  return JSON.stringify(value, replacer);
}

/** The value of encodeValue's text. */
export function decodeValue<T>(text: string): T {
  return JSON.parse(text, reviver) as T;
}

/** Let the page breathe (input, painting, puppeteer's calls) between pieces of work. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * A result as pieces of text: piece 0 is the result without its members, each
 * further piece a JSON array of consecutive members. Encoding pauses whenever
 * it has worked for `sliceMs` without a break.
 */
export async function encodeResult(result: EnsembleResult, opts: { maxPieceChars?: number; sliceMs?: number } = {}): Promise<string[]> {
  const maxChars = opts.maxPieceChars ?? 4_000_000;
  const sliceMs = opts.sliceMs ?? 30;
  const { members, ...head } = result;
  const pieces = [encodeValue(head)];
  let group: string[] = [];
  let chars = 0;
  let t = performance.now();
  for (const m of members) {
    const s = encodeValue(m);
    if (group.length && chars + s.length > maxChars) {
      pieces.push(`[${group.join(',')}]`);
      group = [];
      chars = 0;
    }
    group.push(s);
    chars += s.length + 1;
    if (performance.now() - t > sliceMs) {
      await yieldToEventLoop();
      t = performance.now();
    }
  }
  if (group.length) pieces.push(`[${group.join(',')}]`);
  return pieces;
}

/** The result of encodeResult's pieces. */
export function decodeResult(pieces: readonly string[]): EnsembleResult {
  if (pieces.length === 0) throw new Error('an encoded result needs at least its header piece');
  const head = decodeValue<Omit<EnsembleResult, 'members'>>(pieces[0]);
  const members: MemberResult[] = [];
  for (let i = 1; i < pieces.length; i++) for (const m of decodeValue<MemberResult[]>(pieces[i])) members.push(m);
  return { ...head, members };
}
