/**
 * Output writers: atomic files, the cait-result/1 JSON, the CSVs and the SVG figures,
 * tested on small hand-made results (no solver needed).
 */
import { describe, it, expect, beforeEach } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { DOMParser } from 'linkedom';
import { getPreset } from '../src/config/presets.js';
import type { Protocol } from '../src/config/schema.js';
import type { ProtocolResult, StageResult } from '../src/solver/types.js';
import { writeFileAtomic, writeFilesAtomic } from '../src/io/atomic.js';
import {
  buildResultJson,
  canonicalJson,
  configSha256,
  crossingDepth,
  csvOutputs,
  makeProvenance,
  packageVersion,
  resultJsonText,
  stageCurrentCsv,
  stageProfileCsv,
  writeCsvs,
  writeResultJson,
} from '../src/io/result.js';
import { currentSvg, linePlotSvg, profilesSvg } from '../src/plot/profiles.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** A plausible result: a logistic exchange front per stage; species the stage never saw are left out (writers must fill zeros). */
function fakeResult(protocol: Protocol): ProtocolResult {
  const species = Object.keys(protocol.species);
  const depth = Array.from({ length: 420 }, (_, i) => 0.25 + 0.5 * i);
  const stages: StageResult[] = protocol.stages.map((st, k) => {
    const xf = 40 + 25 * k;
    const beam = depth.map((x) => 0.9 / (1 + Math.exp((x - xf) / 2.1)));
    const density: Record<string, number[]> = { [species[0]]: beam.map((b) => 1 - b), [st.beam]: beam };
    const t = [0, 1, 10, 100, 1000, 1e4, 1e5];
    const I = t.map((x) => 8.2e-9 / (1 + x / 1e5));
    const Q = t.map((x, i) => (i === 0 ? 0 : x * I[i]));
    return {
      name: st.name,
      beam: st.beam,
      duration_s: 1e5 * (k + 1) + 1 / 3,
      charge_C: 0.1 + 0.2,
      final_current_A: I[I.length - 1],
      depth_nm: depth,
      density,
      potential_V: depth.map((x) => 15 * Math.exp(-x / 1e3)),
      current: { t_s: t, I_A: I, I_back_A: I.map((i) => i * 0.999), Q_C: Q },
      snapshots: [{ t_s: 50, charge_C: 1e-4, density: { [st.beam]: beam.map((b) => b / 2) } }],
      balance: { [st.beam]: { start: 0, end: 1e-9, inFront: 1e-9, outBack: 0 } },
      stats: { steps: 123, rejected: 4, newtonIterations: 300, factorizations: 130 },
    };
  });
  return {
    species,
    grid: { cells: depth.length, h_min_nm: 0.5, h_max_nm: 0.5, faces_nm: Array.from({ length: depth.length + 1 }, (_, i) => 0.5 * i) },
    stages,
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cait-io-'));
});

describe('atomic writes', () => {
  it('creates parent directories and replaces a file', () => {
    const p = join(dir, 'a', 'b', 'out.txt');
    writeFileAtomic(p, 'one');
    expect(readFileSync(p, 'utf8')).toBe('one');
    writeFileAtomic(p, 'two');
    expect(readFileSync(p, 'utf8')).toBe('two');
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['out.txt']);
  });

  it('a failure before commit leaves the old file intact and no temporaries', () => {
    const p = join(dir, 'out.json');
    writeFileSync(p, 'old contents');
    expect(() =>
      writeFileAtomic(p, 'new contents', {
        beforeCommit: (temps) => {
          expect(temps).toHaveLength(1);
          expect(existsSync(temps[0])).toBe(true);
          throw new Error('simulated failure');
        },
      }),
    ).toThrow('simulated failure');
    expect(readFileSync(p, 'utf8')).toBe('old contents');
    expect(readdirSync(dir)).toEqual(['out.json']);
  });

  it('a batch is all or nothing: one impossible path keeps every old file', () => {
    const a = join(dir, 'a.csv');
    writeFileSync(a, 'old a');
    writeFileSync(join(dir, 'blocker'), 'a file, not a directory');
    expect(() =>
      writeFilesAtomic([
        { path: a, data: 'new a' },
        { path: join(dir, 'blocker', 'b.csv'), data: 'b' },
      ]),
    ).toThrow();
    expect(readFileSync(a, 'utf8')).toBe('old a');
    expect(readdirSync(dir).sort()).toEqual(['a.csv', 'blocker']);
  });

  it('refuses to write over a directory or the same path twice', () => {
    mkdirSync(join(dir, 'd'));
    expect(() => writeFileAtomic(join(dir, 'd'), 'x')).toThrow(/directory/);
    expect(() => writeFilesAtomic([{ path: join(dir, 'x'), data: '1' }, { path: join(dir, 'x'), data: '2' }])).toThrow(/twice/);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });
});

describe('result file cait-result/1', () => {
  const protocol = getPreset('paper');
  const result = fakeResult(protocol);
  const date = new Date('2026-11-26T12:00:00Z');

  it('has schema, version from package.json and host-free provenance', () => {
    const prov = makeProvenance(protocol, date);
    const file = buildResultJson(protocol, result, prov);
    expect(file.schema).toBe('cait-result/1');
    expect(packageVersion()).toBe(pkg.version);
    expect(file.version).toBe(pkg.version);
    expect(Object.keys(file.provenance).sort()).toEqual(['config_sha256', 'date', 'node', 'platform', 'version']);
    expect(file.provenance.date).toBe('2026-11-26T12:00:00.000Z');
    expect(file.provenance.node).toBe(process.version);
    const text = resultJsonText(file);
    expect(text).not.toContain(hostname());
    expect(file.config).toEqual(protocol);
  });

  it('hashes the canonical JSON of the protocol (key order does not matter, values do)', () => {
    const sha = configSha256(protocol);
    expect(sha).toBe(createHash('sha256').update(canonicalJson(protocol)).digest('hex'));
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverseKeys)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)]))
          : v;
    const reordered = reverseKeys(protocol) as Protocol;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(protocol));
    expect(configSha256(reordered)).toBe(sha);
    const changed = structuredClone(protocol);
    changed.stages[1].D.Cs = { model: 'constant', D_m2s: 2.4e-23 };
    expect(configSha256(changed)).not.toBe(sha);
  });

  it('every species of the protocol is in every stage and snapshot; numbers round-trip exactly', () => {
    const file = buildResultJson(protocol, result, makeProvenance(protocol, date));
    const back = JSON.parse(resultJsonText(file));
    expect(back.species).toEqual(['Li', 'Rb', 'Cs']);
    expect(back.stages).toHaveLength(2);
    back.stages.forEach((st: StageResult, k: number) => {
      const src = result.stages[k];
      expect(Object.keys(st.density)).toEqual(['Li', 'Rb', 'Cs']);
      for (const s of ['Li', 'Rb', 'Cs']) {
        expect(st.density[s]).toHaveLength(src.depth_nm.length);
        expect(st.density[s]).toEqual(src.density[s] ?? new Array(src.depth_nm.length).fill(0));
      }
      expect(Object.keys(st.snapshots[0].density)).toEqual(['Li', 'Rb', 'Cs']);
      expect(st.depth_nm).toEqual(src.depth_nm);
      expect(st.potential_V).toEqual(src.potential_V);
      expect(st.current).toEqual(src.current);
      expect(st.charge_C).toBe(0.1 + 0.2);
      expect(st.duration_s).toBe(src.duration_s);
      expect(st.balance).toEqual(src.balance);
      expect(st.stats).toEqual(src.stats);
    });
    // Cs is absent in stage 1: zeros
    expect(back.stages[0].density.Cs.every((v: number) => v === 0)).toBe(true);
    expect(back.grid).toEqual(result.grid);
  });

  it('writes compact JSON (number arrays on one line) and replaces atomically', () => {
    const p = join(dir, 'r', 'paper.json');
    writeResultJson(p, buildResultJson(protocol, result, makeProvenance(protocol, date)));
    const text = readFileSync(p, 'utf8');
    expect(text).toMatch(/"depth_nm": \[0\.25,0\.75,/);
    expect(text.split('\n').length).toBeLessThan(400);
    expect(JSON.parse(text).schema).toBe('cait-result/1');
  });

  it('non-finite numbers become null (valid JSON)', () => {
    expect(resultJsonText({ a: [1, NaN, Infinity], b: -Infinity })).toBe('{\n  "a": [1,null,null],\n  "b": null\n}\n');
  });
});

describe('CSV files', () => {
  const protocol = getPreset('paper');
  const result = fakeResult(protocol);
  const prov = makeProvenance(protocol, new Date('2026-11-26T12:00:00Z'));

  function records(text: string): string[][] {
    return parse(text, { comment: '#', skip_empty_lines: true }) as string[][];
  }

  it('profile CSV: header comments, columns, every species, exact round trip', () => {
    for (let k = 1; k <= 2; k++) {
      const text = stageProfileCsv(protocol, result, k, prov);
      const comments = text.split('\n').filter((l) => l.startsWith('#'));
      expect(comments[0]).toBe(`# cait-ensemble ${pkg.version}`);
      expect(comments).toContain(`# config sha256 ${prov.config_sha256}`);
      expect(comments).toContain('# date 2026-11-26T12:00:00.000Z');
      const stageLine = comments.find((l) => l.startsWith(`# stage ${k}/2:`));
      expect(stageLine).toContain(JSON.stringify(protocol.stages[k - 1].name));
      expect(stageLine).toContain(`beam ${protocol.stages[k - 1].beam}`);
      expect(stageLine).toContain(`charge_C ${0.1 + 0.2}`);
      expect(comments.join('\n')).toMatch(/depth.*nm/);
      expect(comments.join('\n')).toMatch(/n\/n0/);
      const rows = records(text);
      expect(rows[0]).toEqual(['depth_nm', 'Li', 'Rb', 'Cs']);
      const st = result.stages[k - 1];
      expect(rows.length - 1).toBe(st.depth_nm.length);
      rows.slice(1).forEach((r, i) => {
        expect(Number(r[0])).toBe(st.depth_nm[i]);
        expect(Number(r[1])).toBe(st.density.Li[i]);
        expect(Number(r[2])).toBe(st.density.Rb?.[i] ?? 0);
        expect(Number(r[3])).toBe(st.density.Cs?.[i] ?? 0);
      });
    }
  });

  it('current CSV: t_s,I_A,I_back_A,Q_C round trip', () => {
    const text = stageCurrentCsv(protocol, result, 2, prov);
    const rows = records(text);
    expect(rows[0]).toEqual(['t_s', 'I_A', 'I_back_A', 'Q_C']);
    const c = result.stages[1].current;
    expect(rows.slice(1).map((r) => r.map(Number))).toEqual(c.t_s.map((t, i) => [t, c.I_A[i], c.I_back_A[i], c.Q_C[i]]));
    expect(text).toContain('# units:');
  });

  it('writes <stem>_stage<k>.csv and <stem>_stage<k>_current.csv per stage', () => {
    const paths = writeCsvs(join(dir, 'csv'), 'paper', protocol, result, prov);
    expect(readdirSync(join(dir, 'csv')).sort()).toEqual([
      'paper_stage1.csv',
      'paper_stage1_current.csv',
      'paper_stage2.csv',
      'paper_stage2_current.csv',
    ]);
    expect(paths).toHaveLength(4);
    expect(csvOutputs(dir, 's', protocol, result, prov).map((f) => f.path)).toContain(join(dir, 's_stage2_current.csv'));
  });

  it('crossingDepth finds where a profile rises through 0.5', () => {
    const st = result.stages[0];
    // Li = 1 - 0.9/(1+exp((x-40)/2.1)): 0.5 at x = 40 + 2.1 ln(0.9/0.5 - 1)
    expect(crossingDepth(st.depth_nm, st.density.Li)).toBeCloseTo(40 + 2.1 * Math.log(0.8), 2);
    expect(crossingDepth([0, 1, 2], [1, 1, 1])).toBeNaN();
  });
});

/** Strict XML check: balanced tags, quoted attributes, no stray & or <. (linkedom's parser is lenient.) */
function assertWellFormedXml(xml: string): void {
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|#\d+);[^"<&]*)*")*)\s*(\/?)>/y;
  const badText = /&(?!(?:amp|lt|gt|quot|apos|#\d+);)/;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (badText.test(text)) throw new Error(`bad & in text near ${i}`);
    if (stack.length === 0 && text.trim()) throw new Error(`text outside the root near ${i}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) throw new Error(`malformed tag at ${lt}: ${xml.slice(lt, lt + 60)}`);
    const [, close, name, , selfClose] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}> at ${lt}`);
    } else {
      if (stack.length === 0) roots++;
      if (!selfClose) stack.push(name);
    }
    i = tag.lastIndex;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('><')}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

describe('SVG figures', () => {
  const protocol = getPreset('paper');
  const result = fakeResult(protocol);

  it('profiles: well-formed, one path per species per stage, consistent colours, labels with units', () => {
    const svg = profilesSvg(protocol, result);
    assertWellFormedXml(svg);
    const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
    const root = doc.documentElement;
    expect(root.tagName.toLowerCase()).toBe('svg');
    expect(root.getAttribute('xmlns')).toBe('http://www.w3.org/2000/svg');
    const paths = [...doc.querySelectorAll('path.series')];
    expect(paths).toHaveLength(2 * 3);
    for (const k of ['1', '2']) {
      const inStage = paths.filter((p) => p.getAttribute('data-stage') === k);
      expect(inStage.map((p) => p.getAttribute('data-species'))).toEqual(['Li', 'Rb', 'Cs']);
      for (const p of inStage) expect(p.getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+(L[\d.-]+,[\d.-]+)+$/);
    }
    for (const s of ['Li', 'Rb', 'Cs']) {
      const colours = new Set(paths.filter((p) => p.getAttribute('data-species') === s).map((p) => p.getAttribute('stroke')));
      expect(colours.size).toBe(1);
    }
    expect(new Set(paths.map((p) => p.getAttribute('stroke'))).size).toBe(3);
    const texts = [...doc.querySelectorAll('text')].map((t) => t.textContent);
    expect(texts.filter((t) => t === 'depth (nm)')).toHaveLength(2);
    expect(texts.filter((t) => t === 'n / n0')).toHaveLength(2);
    const title = doc.querySelector('text.title')!.textContent!;
    expect(title).toContain('paper');
    expect(title).toContain('stage 1 (Rb+)');
    expect(title).toContain('stage 2 (Cs+)');
    expect(title).toContain('300 mC'); // 0.1 + 0.2 C, as the fake says
    for (const s of ['Li+', 'Rb+', 'Cs+']) expect(texts).toContain(s);
    // default depth range 0..150 nm: the curves reach the right edge of the panel
    const xTicks = [...doc.querySelectorAll('.x-axis text')].map((t) => Number(t.textContent));
    expect(Math.max(...xTicks.filter(Number.isFinite))).toBe(140);
    const lastX = Math.max(...paths.map((p) => Number(p.getAttribute('d')!.split('L').at(-1)!.split(',')[0])));
    expect(lastX).toBeGreaterThanOrEqual(360);
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('is deterministic and respects the depth option', () => {
    expect(profilesSvg(protocol, result)).toBe(profilesSvg(protocol, result));
    const svg = profilesSvg(protocol, result, { maxDepth_nm: 60 });
    const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
    const texts = [...doc.querySelectorAll('.x-axis text')].map((t) => t.textContent);
    expect(texts).toContain('60');
    expect(texts).not.toContain('140');
  });

  it('escapes user text', () => {
    const p = structuredClone(protocol);
    p.name = 'a <b> & "c"';
    const svg = profilesSvg(p, result);
    assertWellFormedXml(svg);
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
  });

  it('current figure with a log time axis skips t = 0 and stays well-formed', () => {
    const svg = currentSvg(protocol, result, { logTime: true });
    assertWellFormedXml(svg);
    expect(svg).not.toMatch(/NaN|Infinity/);
    const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
    expect(doc.querySelectorAll('path.series')).toHaveLength(4);
    expect([...doc.querySelectorAll('text')].map((t) => t.textContent)).toContain('current (nA)');
    assertWellFormedXml(currentSvg(protocol, result, { logTime: false }));
  });

  it('linePlotSvg: stacked panels, explicit domains', () => {
    const svg = linePlotSvg({
      xLabel: 'x (m)',
      yLabel: 'y (V)',
      layout: 'column',
      panels: [
        { title: 'one', series: [{ label: 'a', color: '#000', x: [0, 1, 2], y: [0, 1, 4] }] },
        { title: 'two', series: [{ label: 'b', color: '#f00', x: [0, 1, 2], y: [4, 1, 0] }] },
      ],
    });
    assertWellFormedXml(svg);
    const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
    const h = Number(doc.documentElement.getAttribute('height'));
    const w = Number(doc.documentElement.getAttribute('width'));
    expect(h).toBeGreaterThan(w); // stacked
    expect(doc.querySelectorAll('.legend text')).toHaveLength(2);
  });
});
