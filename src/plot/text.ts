/**
 * Text layout shared by the CLI's SVG figures and the explorer page
 * (platform-neutral, no imports): titles broken into lines that fit.
 *
 * @example
 * wrapWords('best fit: D = 2.6e-22, U = 14.6 (residual 2.3e-4)', 24); // ['best fit: D = 2.6e-22,', 'U = 14.6 (residual', '2.3e-4)']
 */

/** Words broken into lines of at most `max` characters (a longer word stays whole on its line). */
export function wrapWords(text: string, max: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + w.length > max) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur || lines.length === 0) lines.push(cur);
  return lines;
}
