/**
 * The canonical JSON of a protocol (object keys sorted recursively, undefined
 * fields dropped, arrays in order): the text whose sha256 is the
 * `config_sha256` of every output. Platform-neutral: Node hashes it with
 * node:crypto (src/io/result.ts), the page with SubtleCrypto (src/web/run/provenance.ts).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}
