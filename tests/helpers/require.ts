/**
 * One skip policy for every test that needs a browser or a GPU adapter.
 *
 * On a developer's machine without Debian's Chromium or SwiftShader such a
 * test is skipped, and says why once on stderr. In CI (`CI` set, as every CI
 * service does) — or with `CAIT_REQUIRE_GPU=1` (`CAIT_REQUIRE_SWIFTSHADER=1`
 * is read too) — a missing Chromium or SwiftShader is a failure: the test
 * runs, and a first test of the suite names what is missing. `.ci/run`'s
 * `scripts/setup.sh` installs both.
 *
 * @example
 * const chromium = needs('chromium');
 * describe.skipIf(chromium.skip)('the page', () => {
 *   chromium.assertPresent(); // in CI without Chromium: fails naming it
 *   it(…);
 * });
 */
import { existsSync } from 'node:fs';
import { it, expect } from 'vitest';
import { SWIFTSHADER_ICD } from '../../src/gpu/node.js';
/** The browser the tests and `cait headless` launch. */
export const CHROMIUM_PATH = process.env.CAIT_CHROMIUM ?? '/usr/bin/chromium';

/** True in CI and wherever a missing browser or adapter must fail the suite. */
export function required(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!env.CI || env.CAIT_REQUIRE_GPU === '1' || env.CAIT_REQUIRE_SWIFTSHADER === '1';
}

export type Resource = 'chromium' | 'swiftshader' | 'dist';

/** Why a resource is missing here, or undefined when it is present. */
export function missing(what: Resource, env: NodeJS.ProcessEnv = process.env): string | undefined {
  switch (what) {
    case 'chromium':
      return existsSync(CHROMIUM_PATH) ? undefined : `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CAIT_CHROMIUM)`;
    case 'swiftshader':
      return existsSync(SWIFTSHADER_ICD) || env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES
        ? undefined
        : `no SwiftShader Vulkan driver at ${SWIFTSHADER_ICD} (apt-get install chromium libvulkan1)`;
    case 'dist':
      return existsSync(new URL('../../dist/src/cli/main.js', import.meta.url)) ? undefined : 'dist/ is not built (npm run build)';
  }
}

export interface Need {
  /** skip the suite: something is missing and nothing requires it */
  skip: boolean;
  /** what is missing ('' when nothing is) */
  reason: string;
  /** inside the suite: a first test that fails naming what is missing (only when it is required and missing) */
  assertPresent(): void;
}

/**
 * What a suite needs. Skips (with the reason on stderr) where something is
 * missing and not required; where it is required, the suite runs and
 * `assertPresent()` adds a failing test that names it.
 */
export function needs(...what: Resource[]): Need {
  const reasons = what.map((w) => missing(w)).filter((r): r is string => r !== undefined);
  const reason = reasons.join('; ');
  const must = required();
  const skip = reasons.length > 0 && !must;
  if (skip) console.warn(`[tests] skipped (${what.join(' + ')}): ${reason} — CI=1 or CAIT_REQUIRE_GPU=1 makes this a failure`);
  return {
    skip,
    reason,
    assertPresent() {
      if (reasons.length > 0 && must) it(`has ${what.join(' and ')} (required here: CI or CAIT_REQUIRE_GPU)`, () => expect.fail(reason));
    },
  };
}
