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
