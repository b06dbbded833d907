/**
 * Provenance of a result made in the page: the same fields as Node's
 * makeProvenance (src/io/result.ts) — package version, date, sha256 of the
 * canonical JSON of the base protocol — with the browser in place of Node.
 * The hash must equal Node's configSha256 for the same protocol
 * (tests/headless.test.ts checks it).
 */
import type { Protocol } from '../../config/schema.js';
import type { Provenance } from '../../io/result.js';
import pkg from '../../../package.json' with { type: 'json' };
import { browserName } from './runner.js';
import { canonicalJson } from '../../io/canonical.js';

/** sha256 (hex) of the canonical JSON of a protocol, with the browser's SubtleCrypto (secure contexts: https or 127.0.0.1). */
export async function configSha256Browser(protocol: Protocol): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(protocol));
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Provenance of a page run: `node` says which browser ran it ("browser: Chrome 131"), `platform` the browser's platform string. */
export async function browserProvenance(base: Protocol, date: Date = new Date()): Promise<Provenance> {
  const nav = globalThis.navigator as (Navigator & { userAgentData?: { platform?: string } }) | undefined;
  return {
    version: (pkg as { version: string }).version,
    date: date.toISOString(),
    config_sha256: await configSha256Browser(base),
    node: `browser: ${browserName()}`,
    platform: nav?.userAgentData?.platform || nav?.platform || 'unknown',
  };
}
