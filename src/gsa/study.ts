/**
 * A global sensitivity study from parameters to the `cait-gsa/1` object:
 *
 *   parameter ranges → design in the unit cube (Saltelli or Morris) →
 *   parameter values → model runs (an EnsembleEngine, in batches, or a test
 *   function) → named scalar outputs and depth-resolved profiles per run →
 *   indices with bootstrap intervals → GsaFile.
 *
 * Platform-neutral (any engine; the CLI, a headless runner or the page can
 * drive it). The members are made and validated by src/sweep (makeMember),
 * so a value the protocol refuses gets the same one-line error as in `cait
 * ensemble`; every design point is checked before the first run.
 *
 * @example
 * const params = [{ path: 'stages.0.D.Rb.D_m2s', lo: 2e-22, hi: 3.2e-22, scale: 'log' }];
 * const s = settings({ method: 'sobol', samples: 64 });
 * const design = makeDesign(params.length, s);
 * const runs = await evaluateModel({ base, parameters: params, values: designValues(design, params), engine });
 * const file = buildGsaFile({ ...analyze(design, runs, s), ... });
 */
import type { Protocol } from '../config/schema.js';
import { InputError } from '../core/errors.js';
import type { EnsembleEngine, EnsembleProgress, MemberResult } from '../ensemble/types.js';
import type { Observation } from '../observe/observe.js';
import { residualsFromProfiles } from '../fit/fit.js';
import { fromUnit, makeMember } from '../sweep/grid.js';
import { bootstrapSeed, DEFAULT_BOOTSTRAP, DEFAULT_CONF_LEVEL, resamples } from './bootstrap.js';
import type { TestFunction } from './functions.js';
import { morrisDesign, morrisIndices, DEFAULT_LEVELS, type MorrisDesign } from './morris.js';
import { depthChannels, depthGrid, memberDepthValues, modelOutputs, type DepthChannel, type DepthSpec, type OutputDef } from './outputs.js';
import { GSA_SCHEMA, type DepthMap, type GsaFile, type GsaParameter, type MorrisOutput, type SobolOutput } from './schema.js';
import { nextPow2, saltelliDesign, sobolIndices, type SaltelliDesign } from './sobol.js';

export type GsaMethod = 'sobol' | 'morris';
export const GSA_METHODS: readonly GsaMethod[] = ['sobol', 'morris'];

export interface GsaSettings {
  method: GsaMethod;
  /** sobol: base samples N; morris: trajectories r */
  samples: number;
  /** sobol: second-order indices too */
  secondOrder: boolean;
  /** morris: grid levels */
  levels: number;
  /** sobol: scramble the Sobol' points */
  scramble: boolean;
  seed: number;
  /** bootstrap resamples of the intervals */
  bootstrap: number;
  /** confidence level of the intervals */
  level: number;
}

/** Settings with defaults filled in (seed 1, 1000 resamples, 95 %, 4 levels, scrambled, first and total order). */
export function settings(s: Partial<GsaSettings> & Pick<GsaSettings, 'method' | 'samples'>): GsaSettings {
  if (!GSA_METHODS.includes(s.method)) throw new InputError(`--method ${s.method}: expected ${GSA_METHODS.join(' or ')}`);
  return {
    secondOrder: false,
    levels: DEFAULT_LEVELS,
    scramble: true,
    seed: 1,
    bootstrap: DEFAULT_BOOTSTRAP,
    level: DEFAULT_CONF_LEVEL,
    ...s,
  };
}

export type Design = SaltelliDesign | MorrisDesign;

/** The design of a method for k parameters. */
export function makeDesign(k: number, s: GsaSettings): Design {
  if (s.method === 'sobol') return saltelliDesign(k, s.samples, { secondOrder: s.secondOrder, scramble: s.scramble, seed: s.seed });
  if (s.secondOrder) throw new InputError('--second-order: only with --method sobol');
  return morrisDesign(k, s.samples, { levels: s.levels, seed: s.seed });
}

/** The design's runs as parameter values (unit cube mapped onto each range; log ranges log-uniformly). */
export function designValues(d: Design, params: readonly GsaParameter[]): number[][] {
  return d.unit.map((u) => params.map((p, j) => fromUnit(p, u[j])));
}

/**
 * The protocol paths of a study parameter: one, or several joined by `+`
 * that take the same value (a tied parameter: e.g. D(Rb+) in both stages).
 *
 * @example
 * tiedPaths('stages.0.D.Rb.D_m2s+stages.1.D.Rb.bulk.D_m2s'); // ['stages.0.D.Rb.D_m2s', 'stages.1.D.Rb.bulk.D_m2s']
 */
export function tiedPaths(path: string): string[] {
  return path.split('+');
}

/** Model or function outputs of every run of a design. */
export interface Evaluated {
  runs: number;
  /** per run: ok or failed, and why */
  status: ('ok' | 'failed')[];
  reasons: (string | undefined)[];
  /** one per scalar output: its definition and a value per run (NaN where missing) */
  outputs: { def: OutputDef; values: Float64Array }[];
  /** depth-resolved profiles: per channel, runs × depths (row-major) */
  depth?: { spec: DepthSpec; depth_nm: number[]; channels: DepthChannel[]; values: Float64Array[] };
  engine: string;
  adapter: string;
  wall_s: number;
}

/** Evaluate a test function at every row of `values` (the function's inputs in order). */
export function evaluateFunction(fn: TestFunction, values: readonly number[][]): Evaluated {
  const t0 = performance.now();
  const y = Float64Array.from(values, (v) => fn.evaluate(v));
  return {
    runs: values.length,
    status: values.map(() => 'ok'),
    reasons: values.map(() => undefined),
    outputs: [{ def: { name: 'y', unit: '', description: `the ${fn.name} function` }, values: y }],
    engine: 'function',
    adapter: fn.name,
    wall_s: (performance.now() - t0) / 1000,
  };
}

/** Default runs per engine batch: the memory of one batch's profiles stays modest. */
export const DEFAULT_BATCH = 4096;

export interface ModelEvaluation {
  base: Protocol;
  parameters: readonly GsaParameter[];
  /** one row per run (designValues) */
  values: readonly number[][];
  engine: EnsembleEngine;
  observations?: readonly Observation[];
  /** depth-resolved outputs, or null for scalars only */
  depth?: DepthSpec | null;
  /** runs per engine batch (default {@link DEFAULT_BATCH}) */
  batch?: number;
  /** progress over all runs (done counts every batch) */
  onProgress?(p: EnsembleProgress): void;
  signal?: AbortSignal;
  /** clock, ms */
  now?: () => number;
}

/**
 * Check every run of a design against the protocol (InputError naming the
 * parameter or the run), then run them through the engine in batches and
 * keep each member's outputs (its profiles are dropped after each batch).
 */
export async function evaluateModel(o: ModelEvaluation): Promise<Evaluated> {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  // a tied parameter (paths joined by +) writes its value at each of its paths
  const paths = o.parameters.flatMap((p) => tiedPaths(p.path));
  const sources = o.parameters.flatMap((p) => tiedPaths(p.path).map(() => `--vary ${p.path}`));
  const expand = (row: readonly number[]) => o.parameters.flatMap((p, j) => tiedPaths(p.path).map(() => row[j]));
  const observations = o.observations ?? [];
  for (let i = 0; i < o.values.length; i++) makeMember(o.base, paths, expand(o.values[i]), sources, i);
  const defs = modelOutputs(o.base, observations);
  const runs = o.values.length;
  const outputs = defs.map((def) => ({ def: { name: def.name, unit: def.unit, description: def.description }, values: new Float64Array(runs).fill(NaN) }));
  const spec = o.depth ?? null;
  const depth = spec
    ? (() => {
        const depth_nm = depthGrid(spec);
        const channels = depthChannels(o.base);
        return { spec, depth_nm, channels, values: channels.map(() => new Float64Array(runs * depth_nm.length).fill(NaN)) };
      })()
    : undefined;
  const status: ('ok' | 'failed')[] = new Array(runs).fill('failed');
  const reasons: (string | undefined)[] = new Array(runs).fill(undefined);
  const batch = Math.max(1, o.batch ?? DEFAULT_BATCH);
  // the zone edges (outputs.ts) and the depth maps need each member's final profiles; a batch's are dropped after it
  const profiles = 'final';
  let engine = o.engine.name;
  let adapter = o.engine.adapter;
  let failedBefore = 0;
  for (let from = 0; from < runs; from += batch) {
    const rows = o.values.slice(from, from + batch).map(expand);
    const members = rows.map((r, j) => makeMember(o.base, paths, r, sources, from + j));
    const req = { base: o.base, parameters: paths, values: rows.map((r) => [...r]), members, profiles, ...(observations.length ? { observations: [...observations] } : {}) } as const;
    const res = await o.engine.run(req, {
      signal: o.signal,
      onProgress: o.onProgress && ((p) => o.onProgress!({ ...p, done: from + p.done, total: runs, failed: failedBefore + p.failed, elapsed_s: (now() - t0) / 1000 })),
    });
    engine = res.engine;
    adapter = res.adapter;
    res.members.forEach((m0, j) => {
      const r = from + j;
      let m: MemberResult = m0;
      if (m.status === 'ok' && observations.length && !m.residuals) m = { ...m, residuals: residualsFromProfiles(m, observations, false) };
      status[r] = m.status;
      reasons[r] = m.reason;
      if (m.status !== 'ok') failedBefore++;
      defs.forEach((d, q) => (outputs[q].values[r] = d.get(m)));
      if (depth) {
        const n = depth.depth_nm.length;
        memberDepthValues(m, depth.channels, depth.depth_nm, depth.spec.blur_nm).forEach((v, c) => depth.values[c].set(v, r * n));
      }
    });
  }
  return { runs, status, reasons, outputs, ...(depth ? { depth } : {}), engine, adapter, wall_s: (now() - t0) / 1000 };
}

/** Indices of one output series under a design. */
function indicesOf(d: Design, y: Float64Array, s: GsaSettings, shared?: Int32Array[]) {
  return d.method === 'sobol'
    ? sobolIndices(d, y, { bootstrap: s.bootstrap, level: s.level, seed: s.seed, shared })
    : morrisIndices(d, y, { bootstrap: s.bootstrap, level: s.level, seed: s.seed });
}

const mean = (v: ArrayLike<number>) => {
  let n = 0;
  let m = 0;
  for (let i = 0; i < v.length; i++) if (Number.isFinite(v[i])) m += (v[i] - m) / ++n;
  return n ? m : null;
};
const sd = (v: ArrayLike<number>) => {
  let n = 0;
  let m = 0;
  let m2 = 0;
  for (let i = 0; i < v.length; i++)
    if (Number.isFinite(v[i])) {
      const d = v[i] - m;
      m += d / ++n;
      m2 += d * (v[i] - m);
    }
  return n >= 2 ? Math.sqrt(m2 / (n - 1)) : null;
};

/** The indices of every scalar output and depth map. */
export function analyze(d: Design, ev: Evaluated, s: GsaSettings): { outputs: GsaFile['outputs']; depth?: GsaFile['depth'] } {
  const shared = d.method === 'sobol' && s.bootstrap >= 2 ? resamples(d.N, s.bootstrap, bootstrapSeed(s.seed)) : undefined;
  const outputs: GsaFile['outputs'] = {};
  for (const { def, values } of ev.outputs) {
    const ix = indicesOf(d, values, s, shared);
    outputs[def.name] = { unit: def.unit, description: def.description, ...ix } as SobolOutput | MorrisOutput;
  }
  if (!ev.depth) return { outputs };
  const { depth_nm, channels, values, spec } = ev.depth;
  const n = depth_nm.length;
  const k = d.k;
  const maps: DepthMap[] = channels.map((c, ci) => {
    const col = (j: number) => {
      const y = new Float64Array(ev.runs);
      for (let r = 0; r < ev.runs; r++) y[r] = values[ci][r * n + j];
      return y;
    };
    const rows = () => Array.from({ length: k }, () => new Array<number | null>(n).fill(null));
    const head = { stage: c.stage + 1, species: c.species, mean: new Array<number | null>(n), sd: new Array<number | null>(n) };
    if (d.method === 'sobol') {
      const m = { ...head, S1: rows(), S1_conf: rows(), ST: rows(), ST_conf: rows() };
      for (let j = 0; j < n; j++) {
        const y = col(j);
        m.mean[j] = mean(y);
        m.sd[j] = sd(y);
        const ix = sobolIndices(d, y, { bootstrap: s.bootstrap, level: s.level, seed: s.seed, shared });
        for (let i = 0; i < k; i++) {
          m.S1[i][j] = ix.S1[i];
          m.S1_conf[i][j] = ix.S1_conf[i];
          m.ST[i][j] = ix.ST[i];
          m.ST_conf[i][j] = ix.ST_conf[i];
        }
      }
      return m;
    }
    const m = { ...head, mu_star: rows(), mu_star_conf: rows(), sigma: rows() };
    for (let j = 0; j < n; j++) {
      const y = col(j);
      m.mean[j] = mean(y);
      m.sd[j] = sd(y);
      const ix = morrisIndices(d, y, { bootstrap: s.bootstrap, level: s.level, seed: s.seed });
      for (let i = 0; i < k; i++) {
        m.mu_star[i][j] = ix.mu_star[i];
        m.mu_star_conf[i][j] = ix.mu_star_conf[i];
        m.sigma[i][j] = ix.sigma[i];
      }
    }
    return m;
  });
  return { outputs, depth: { blur_nm: spec.blur_nm, depth_nm, maps } };
}

export interface GsaFileParts {
  design: Design;
  settings: GsaSettings;
  parameters: GsaParameter[];
  evaluated: Evaluated;
  analysis: { outputs: GsaFile['outputs']; depth?: GsaFile['depth'] };
  model: GsaFile['model'];
  provenance: Omit<GsaFile['provenance'], 'engine' | 'adapter' | 'wall_s'>;
  analytic?: GsaFile['analytic'];
  warnings?: string[];
}

/** The `cait-gsa/1` object of a study. */
export function buildGsaFile(p: GsaFileParts): GsaFile {
  const { design: d, settings: s, evaluated: ev } = p;
  const failed = ev.status.map((st, run) => ({ st, run })).filter((x) => x.st === 'failed');
  const file: GsaFile = {
    schema: GSA_SCHEMA,
    version: p.provenance.version,
    provenance: { ...p.provenance, engine: ev.engine, adapter: ev.adapter, wall_s: ev.wall_s },
    model: p.model,
    method: s.method,
    parameters: p.parameters.map(({ path, lo, hi, scale }) => ({ path, lo, hi, scale })),
    N: s.samples,
    runs: ev.runs,
    seed: s.seed,
    design:
      d.method === 'sobol'
        ? { sequence: `Sobol' (Joe-Kuo new-joe-kuo-6.21201)${d.scramble ? ', linear matrix scramble + digital shift' : `, unscrambled, first ${nextPow2(d.N)} points skipped`}`, scramble: d.scramble, second_order: d.secondOrder, blocks: d.blocks }
        : { levels: d.levels, delta: d.delta },
    bootstrap: { resamples: s.bootstrap, level: s.level },
    members: { ok: ev.runs - failed.length, failed: failed.length, reasons: failed.slice(0, 20).map(({ run }) => ({ run, reason: ev.reasons[run] ?? 'no reason given' })) },
    outputs: p.analysis.outputs,
    warnings: p.warnings ?? [],
  };
  if (p.analysis.depth) file.depth = p.analysis.depth;
  if (p.analytic) file.analytic = p.analytic;
  return file;
}
