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

/**
 * A run stopped because its AbortSignal fired (Ctrl-C, the page's Cancel):
 * the one abort error of every engine, the fit and the Slurm executor.
 * `name` is 'AbortError' (like the DOM's), the message names what was
 * aborted and, when the signal carried a reason of its own, that reason
 * (also kept as `cause`). The CLI exits 130 on it (src/cli/common.ts).
 *
 * @example
 * throw new RunAbortedError('the webgpu run'); // "the webgpu run was aborted"
 */
export class RunAbortedError extends Error {
  override name = 'AbortError';
  constructor(what: string, reason?: unknown) {
    super(`${what} was aborted${abortReasonText(reason)}`, reason !== undefined ? { cause: reason } : undefined);
  }
}

/** ` (reason)` for a reason of the caller's own; nothing for none or the DOM's default AbortError. */
function abortReasonText(reason: unknown): string {
  if (reason === undefined || reason === null) return '';
  if (reason instanceof Error) return reason.name === 'AbortError' || !reason.message ? '' : ` (${reason.message})`;
  const s = String(reason);
  return s ? ` (${s})` : '';
}

/** Throws a {@link RunAbortedError} naming `what` when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new RunAbortedError(what, signal.reason);
}

/** Is `e` the abort error of a run (a RunAbortedError, or any error named 'AbortError' that crossed a boundary)? */
export function isRunAborted(e: unknown): boolean {
  return e instanceof RunAbortedError || (e instanceof Error && e.name === 'AbortError');
}
