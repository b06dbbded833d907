/**
 * The layers of src/ (docs/architecture.md): every folder has a rank, and a
 * module may import only from its own folder or from folders of a lower
 * rank, so the folder import graph has no cycles and the data flow reads
 * one way — config → sweep → solver → engines → observe/fit → plots →
 * CLI/page.
 *
 *   npm run check:layers        # prints the folder graph; exit 1 on a cycle or an upward import
 *
 * Imports are read with a real TypeScript parser (oxc, through rolldown,
 * which vite brings): static imports, `export … from`, dynamic `import()`
 * and type-only imports alike (a type cycle is still a design cycle).
 * `tests/layers.test.ts` runs the same check in `npm test`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSync } from 'rolldown/utils';

/**
 * Rank of each folder of src/ (a module may import from a folder of lower
 * rank only). Folders of equal rank do not import each other.
 */
export const LAYERS: Readonly<Record<string, number>> = {
  // shared helpers: errors, number formatting, compact JSON, tables, clocks, RNG, small linear algebra
  core: 0,
  // the protocol: schema, validation, presets, units
  config: 1,
  // the loopback static server (cait serve, cait headless)
  serve: 1,
  // constants, special functions, D models and D tables
  physics: 2,
  // dotted parameter paths, grids, Latin hypercubes, sweep files
  sweep: 2,
  // grid, banded LU, the NPP system, the f64 integrator
  solver: 3,
  // profile comparison: blur, fronts, differences
  analysis: 3,
  // the observation model: depth resolution, observation operator, residuals
  observe: 3,
  // atomic writes, canonical JSON, the cait-result/1 file and CSVs
  io: 4,
  // SIMS import and processing, the synthetic forward model
  sims: 4,
  // the engine interface, member helpers, the f64 CPU engine, summaries, cait-ensemble/1
  ensemble: 5,
  // the wire format of runs crossing between the page and Node (the page's runner, cait headless)
  'ensemble/wire': 6,
  // engines behind EnsembleEngine
  gpu: 6,
  gpujs: 6,
  cluster: 6,
  // headless Chromium running the page's engine (BrowserEngine)
  headless: 7,
  // fits, maps, intervals, sensitivity, cait-fit/1
  fit: 8,
  // global sensitivity (Sobol, Morris) of outputs the fit's machinery also gives (residuals), cait-gsa/1
  gsa: 9,
  // d3 SVG figures
  plot: 10,
  // the page's engine runner and live-sweep panel (WebGPU or gpu.js in the browser)
  'web/run': 10,
  // the explorer page and the cait command
  web: 11,
  cli: 11,
};

/**
 * Upward imports left to other branches, each one named by its importing
 * file. An entry that no longer occurs fails the check: remove it then.
 */
export const PENDING: readonly { file: string; to: string; why: string }[] = [];

/** One import between two modules of src/. */
export interface ImportEdge {
  /** importing file, relative to src/ (posix) */
  file: string;
  /** imported file, relative to src/ (posix) */
  target: string;
  /** folders of both, relative to src/ */
  from: string;
  to: string;
  /** the specifier as written */
  specifier: string;
}

/** The module specifiers a TypeScript module imports (static, re-exports, dynamic with a literal). */
export function importsOf(fileName: string, text: string): string[] {
  const r = parseSync(fileName, text, { lang: fileName.endsWith('.tsx') ? 'tsx' : 'ts', sourceType: 'module' });
  if (r.errors.length) throw new Error(`${fileName}: ${r.errors[0].message}`);
  const out: string[] = [];
  for (const s of r.module.staticImports) out.push(s.moduleRequest.value);
  for (const e of r.module.staticExports) for (const en of e.entries) if (en.moduleRequest) out.push(en.moduleRequest.value);
  for (const d of r.module.dynamicImports) {
    const src = text.slice(d.moduleRequest.start, d.moduleRequest.end).trim();
    const m = /^(['"`])([^'"`]*)\1$/.exec(src);
    if (m) out.push(m[2]);
  }
  return [...new Set(out)];
}

function toPosix(p: string): string {
  return p.split(sep).join('/');
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Folder of a file relative to src/ ('.' for src/ itself). */
function folderOf(rel: string): string {
  const d = dirname(rel);
  return d === '' ? '.' : toPosix(d);
}

/** Every import between modules of `srcDir` (imports of packages and of files outside it are left out). */
export function importEdges(srcDir: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const abs of walk(srcDir)) {
    const file = toPosix(relative(srcDir, abs));
    for (const specifier of importsOf(abs, readFileSync(abs, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = toPosix(normalize(join(dirname(file), specifier.replace(/\?.*$/, '')))).replace(/\.js$/, '.ts');
      if (target.startsWith('..')) continue; // shaders/, package.json
      edges.push({ file, target, from: folderOf(file), to: folderOf(target), specifier });
    }
  }
  return edges;
}

/** Folder-level cycles: the strongly connected components of more than one folder (Tarjan), each sorted. */
export function folderCycles(edges: readonly Pick<ImportEdge, 'from' | 'to'>[]): string[][] {
  const adj = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.from === e.to) continue;
    if (!adj.has(e.from)) adj.set(e.from, new Set());
    if (!adj.has(e.to)) adj.set(e.to, new Set());
    adj.get(e.from)!.add(e.to);
  }
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of adj.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of [...adj.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

export interface LayerReport {
  /** folder → imported folders (other than itself), sorted */
  graph: Record<string, string[]>;
  cycles: string[][];
  /** imports that point up or sideways, not covered by PENDING */
  violations: string[];
  /** folders with no rank in LAYERS */
  unknown: string[];
  /** PENDING entries that no longer occur */
  stale: string[];
}

/** Check the folders of `srcDir` against `layers`. */
export function checkLayers(
  srcDir: string,
  layers: Readonly<Record<string, number>> = LAYERS,
  pending: readonly { file: string; to: string }[] = PENDING,
): LayerReport {
  const edges = importEdges(srcDir);
  const graph: Record<string, string[]> = {};
  for (const e of edges) {
    if (e.from === e.to) continue;
    graph[e.from] = [...new Set([...(graph[e.from] ?? []), e.to])].sort();
  }
  const folders = new Set(edges.flatMap((e) => [e.from, e.to]));
  for (const abs of walk(srcDir)) folders.add(folderOf(toPosix(relative(srcDir, abs))));
  const unknown = [...folders].filter((f) => !(f in layers)).sort();
  const used = new Set<string>();
  const violations: string[] = [];
  for (const e of edges) {
    if (e.from === e.to || !(e.from in layers) || !(e.to in layers)) continue;
    if (layers[e.to] < layers[e.from]) continue;
    const p = pending.find((x) => x.file === e.file && x.to === e.to);
    if (p) {
      used.add(`${p.file}→${p.to}`);
      continue;
    }
    violations.push(`${e.file} imports ${e.specifier} (${e.from}, layer ${layers[e.from]} → ${e.to}, layer ${layers[e.to]})`);
  }
  const stale = pending.filter((p) => !used.has(`${p.file}→${p.to}`)).map((p) => `${p.file} → ${p.to}`);
  return { graph, cycles: folderCycles(edges), violations, unknown, stale };
}

function main(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  // from dist/scripts/ or scripts/: the repository root holds src/
  const repo = root.endsWith(`${sep}dist`) ? dirname(root) : root;
  const r = checkLayers(join(repo, 'src'));
  const byRank = Object.keys(r.graph).sort((a, b) => (LAYERS[a] ?? 99) - (LAYERS[b] ?? 99) || a.localeCompare(b));
  for (const f of byRank) console.log(`${f.padEnd(9)} (${LAYERS[f] ?? '?'}) → ${r.graph[f].join(', ')}`);
  const problems = [
    ...r.cycles.map((c) => `cycle between folders: ${c.join(', ')}`),
    ...r.violations.map((v) => `upward import: ${v}`),
    ...r.unknown.map((u) => `folder src/${u} has no layer: add it to LAYERS in scripts/check-layers.ts (and docs/architecture.md)`),
    ...r.stale.map((s) => `pending exception no longer needed: ${s} (remove it from PENDING)`),
  ];
  for (const p of problems) console.error(`check-layers: ${p}`);
  if (problems.length) process.exit(1);
  console.log(`check-layers: ${byRank.length} folders, no cycles, every import points down (${PENDING.length} pending exceptions)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
