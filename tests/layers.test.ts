/**
 * The layers of src/ (docs/architecture.md, scripts/check-layers.ts): the
 * folder import graph has no cycles and every import points down; and the
 * checker itself finds a cycle, an upward import and every kind of import
 * (a check that cannot fail would prove nothing).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLayers, folderCycles, importsOf, LAYERS, PENDING } from '../scripts/check-layers.js';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

describe('the layers of src/', () => {
  const r = checkLayers(SRC);

  it('has no cycle between folders', () => {
    expect(r.cycles).toEqual([]);
  });

  it('imports only from lower layers (the exceptions left to issue 9 aside)', () => {
    expect(r.violations).toEqual([]);
    expect(r.unknown).toEqual([]);
    expect(r.stale).toEqual([]);
    expect(PENDING.length).toBeLessThanOrEqual(4);
  });

  it('keeps the data flow: the observation model and the engines below the fit, the fit below the plots and faces', () => {
    expect(r.graph.ensemble).not.toContain('fit');
    expect(r.graph.ensemble).not.toContain('plot');
    expect(r.graph.sims).not.toContain('fit');
    expect(r.graph.sims).not.toContain('sweep');
    expect(r.graph.plot).toContain('fit');
    expect(r.graph.fit).toContain('observe');
    expect(r.graph.core).toBeUndefined(); // core imports nothing of src/
    expect(LAYERS.core).toBeLessThan(LAYERS.config);
    expect(LAYERS.observe).toBeLessThan(LAYERS.ensemble);
    expect(LAYERS.fit).toBeLessThan(LAYERS.plot);
    expect(LAYERS.plot).toBeLessThan(LAYERS.cli);
  });
});

describe('the checker', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A src/ tree from { 'a/x.ts': source }. */
  function tree(files: Record<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), 'cait-layers-'));
    dirs.push(root);
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, f)), { recursive: true });
      writeFileSync(join(root, f), text);
    }
    return root;
  }

  it('reads static, type-only, re-export and dynamic imports, and none in comments or strings', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "export * from './c.js';",
      "export { d } from './d.js';",
      "const e = await import('./e.js');",
      "// import { f } from './f.js';",
      "/** @example const g = await import('./g.js'); */",
      "const s = \"import { h } from './h.js'\";",
      'const re = /[\'"]/;',
    ].join('\n');
    expect(importsOf('x.ts', text).sort()).toEqual(['../b/b.js', './a.js', './c.js', './d.js', './e.js']);
  });

  it('finds a cycle between folders and an upward import', () => {
    const root = tree({
      'core/x.ts': 'export const x = 1;\n',
      'config/y.ts': "import { z } from '../fit/z.js';\nexport const y = z;\n",
      'fit/z.ts': "import { y } from '../config/y.js';\nexport const z = 1;\nexport const w = y;\n",
    });
    const r = checkLayers(root, { core: 0, config: 1, fit: 8 }, []);
    expect(r.cycles).toEqual([['config', 'fit']]);
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatch(/^config\/y\.ts imports \.\.\/fit\/z\.js \(config, layer 1 → fit, layer 8\)$/);
  });

  it('names a folder without a layer and an exception no longer needed', () => {
    const root = tree({ 'core/x.ts': 'export const x = 1;\n', 'extra/y.ts': "import { x } from '../core/x.js';\n" });
    const r = checkLayers(root, { core: 0 }, [{ file: 'core/x.ts', to: 'extra' }]);
    expect(r.unknown).toEqual(['extra']);
    expect(r.stale).toEqual(['core/x.ts → extra']);
  });

  it('finds a cycle through three folders', () => {
    expect(
      folderCycles([
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'a' },
        { from: 'c', to: 'd' },
      ]),
    ).toEqual([['a', 'b', 'c']]);
  });
});
