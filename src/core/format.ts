/**
 * Numbers and tables as text, for messages, summaries and CSV comments.
 * Platform-neutral.
 */

/**
 * A number in a message: 3 significant digits, exponent form below 0.01
 * and from 1e4, without "+".
 *
 * @example
 * fmtNum(123456); // '1.23e5'
 * fmtNum(0.5);    // '0.5'
 */
export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e4 || a < 1e-2)) {
    const [m, e] = x.toExponential(2).split('e');
    return `${m.replace(/\.?0+$/, '')}e${e.replace('+', '')}`;
  }
  return String(Number(x.toPrecision(3)));
}

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

/**
 * A plain-text table: columns separated by two spaces, right-aligned except
 * the columns listed in `left`; a missing cell is empty; one trailing newline.
 *
 * @example
 * table([['stage', 'name'], ['1', 'Rb+']], { left: [1] });
 * // 'stage  name\n    1  Rb+\n'
 */
export function table(rows: readonly (readonly (string | undefined)[])[], opts: { left?: readonly number[] } = {}): string {
  const left = new Set(opts.left ?? []);
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows.map((r) => widths.map((w, j) => (left.has(j) ? (r[j] ?? '').padEnd(w) : (r[j] ?? '').padStart(w))).join('  ').trimEnd()).join('\n') + '\n';
}
