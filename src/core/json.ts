/**
 * The one compact JSON writer of the project's output files (cait-result/1,
 * cait-ensemble/1): arrays of scalars and objects of scalars on one line,
 * other containers indented by 2 spaces, so that profiles stay compact and
 * the structure stays readable. Numbers in JSON's shortest round-trip form;
 * NaN and ±Infinity become null; undefined fields are left out.
 *
 * @example
 * compactJson({ a: [1, NaN], b: { c: 1 } }); // '{\n  "a": [1,null],\n  "b": {"c": 1}\n}'
 */

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

function scalarJson(v: unknown): string {
  return JSON.stringify(v) ?? 'null';
}

/** `v` as compact JSON text, nested at `indent` (no trailing newline). */
export function compactJson(v: unknown, indent = ''): string {
  if (isScalar(v)) return scalarJson(v);
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (v.every(isScalar)) return '[' + v.map(scalarJson).join(',') + ']';
    return '[\n' + v.map((x) => inner + compactJson(x, inner)).join(',\n') + '\n' + indent + ']';
  }
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return '{}';
  if (entries.every(([, x]) => isScalar(x))) return '{' + entries.map(([k, x]) => `${JSON.stringify(k)}: ${scalarJson(x)}`).join(', ') + '}';
  return '{\n' + entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${compactJson(x, inner)}`).join(',\n') + '\n' + indent + '}';
}
