/**
 * Errors shared by every layer: the user's-input error the CLI prints on one
 * line, messages made safe to print, and the reason a file could not be read.
 * Platform-neutral (no Node imports).
 */

/** An error about the user's input: the CLI prints its message on one line, without a stack (exit 2). */
export class InputError extends Error {
  override name = 'InputError';
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
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it replaces
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .trim();
  return one.length <= max ? one : `${one.slice(0, max)}… (${one.length - max} more characters)`;
}

/**
 * Why reading a file failed, in words (`no such file`, `is a directory`,
 * `permission denied`, else the error's own message).
 *
 * @example
 * throw new InputError(`config ${file}: cannot read (${fsReason(e)})`);
 */
export function fsReason(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (e as Error).message ?? String(e);
}
