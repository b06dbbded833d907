/**
 * Parsing and validation of protocol documents, with errors that name the
 * bad field by its dotted path.
 */
import { jsonError, lineColumn } from './json.js';
import type { z } from 'zod';
import { protocolSchema, type Protocol } from './schema.js';
import { InputError } from '../core/errors.js';


/** Dotted path of a zod issue (`stages.1.D.Cs.D_m2s`). */
export function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.length ? path.map(String).join('.') : '(root)';
}

/**
 * The issues as one line, `where: path: message`, first issue first, joined
 * by `; `; with `max`, only the first `max` issues and how many more there
 * are (a file read against its schema: `file.json: members.3.stages.0.duration_s:
 * Invalid input: expected number, received string (and 9999 more issues)`).
 */
export function formatZodError(err: z.ZodError, where = 'config', max = Infinity): string {
  const lines = err.issues.slice(0, max).map((iss) => {
    let msg = iss.message;
    if (iss.code === 'unrecognized_keys') msg = `unknown field${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${where}: ${issuePath(iss.path)}: ${msg}`;
  });
  const more = err.issues.length - lines.length;
  return lines.join('; ') + (more > 0 ? ` (and ${more} more issue${more > 1 ? 's' : ''})` : '');
}

/**
 * Check a parsed JSON value against a file format's zod schema (cait-ensemble/1,
 * cait-fit/1, …); a value that does not fit is an InputError of one line naming
 * `where` and the first bad field by its dotted path.
 */
export function parseWithSchema<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new InputError(formatZodError(r.error, where, 1));
  return r.data;
}

/** Validate an already-parsed JSON value as a protocol (defaults filled in). */
export function parseProtocol(value: unknown, where = 'config'): Protocol {
  const r = protocolSchema.safeParse(value);
  if (!r.success) throw new InputError(formatZodError(r.error, where));
  return r.data;
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
