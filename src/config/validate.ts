/**
 * Parsing and validation of protocol documents, with errors that name the
 * bad field by its dotted path.
 */
import { jsonError, lineColumn } from './json.js';
import { z } from 'zod';
import { protocolSchema, type Protocol } from './schema.js';

/** An error about the user's input: the CLI prints its message on one line, without a stack. */
export class InputError extends Error {
  override name = 'InputError';
}

/** Dotted path of a zod issue (`stages.1.D.Cs.D_m2s`). */
export function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.length ? path.map(String).join('.') : '(root)';
}

/** One line per issue, `path: message`, first issue first. */
export function formatZodError(err: z.ZodError, where = 'config'): string {
  const lines = err.issues.map((iss) => {
    let msg = iss.message;
    if (iss.code === 'unrecognized_keys') msg = `unknown field${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${where}: ${issuePath(iss.path)}: ${msg}`;
  });
  return lines.join('; ');
}

/** Validate an already-parsed JSON value as a protocol (defaults filled in). */
export function parseProtocol(value: unknown, where = 'config'): Protocol {
  const r = protocolSchema.safeParse(value);
  if (!r.success) throw new InputError(formatZodError(r.error, where));
  return r.data;
}

/** The longest error message shown, in characters (longer ones are cut, saying how much was left out). */
export const MAX_MESSAGE = 1000;

/**
 * A message safe to print on a terminal or a page: control characters
 * (escape sequences that would colour or move a terminal, NUL, …) shown as
 * \uXXXX, runs of whitespace made one space (one line), and at most `max`
 * characters — files echo their own bytes into errors (a header of 200,000
 * column titles must not become a megabyte "one-line" error).
 */
export function safeMessage(s: string, max = MAX_MESSAGE): string {
  const one = s
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/\t/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .trim();
  return one.length <= max ? one : `${one.slice(0, max)}… (${one.length - max} more characters)`;
}

/** JSON.parse; a malformed text is an InputError naming `where`, the line and the column of the first error (src/config/json.ts). */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const err = jsonError(text);
    if (!err) throw new InputError(`${where}: malformed JSON (${(e as Error).message.slice(0, 200)})`);
    const { line, column } = lineColumn(text, err.offset);
    throw new InputError(`${where}: malformed JSON at line ${line}, column ${column}: ${err.reason}`);
  }
}

/** Parse JSON text as a protocol. Malformed JSON is an InputError naming the file, line and column. */
export function parseProtocolText(text: string, where = 'config'): Protocol {
  return parseProtocol(parseJson(text, where), where);
}

/** A number in a message: 3 significant digits, exponent form below 0.01 and from 1e4, without "+" (1.2e5, 1.3e-5). */
/**
 * x with as many significant digits as it takes to show a difference of
 * `resolve` (at least 3, at most 12): a best value and the ends of an
 * interval much narrower than the value itself stay distinguishable.
 *
 * @example
 * fmtResolved(2.66941e-22, 1.5e-26); // '2.66941e-22'
 */
export function fmtResolved(x: number, resolve: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const digits = a > 0 && resolve > 0 && Number.isFinite(resolve) ? Math.min(12, Math.max(3, Math.ceil(Math.log10(a / resolve)) + 1)) : 4;
  const s = String(Number(x.toPrecision(digits)));
  return s.replace('e+', 'e');
}

export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e4 || a < 1e-2)) {
    const [m, e] = x.toExponential(2).split('e');
    return `${m.replace(/\.?0+$/, '')}e${e.replace('+', '')}`;
  }
  return String(Number(x.toPrecision(3)));
}
