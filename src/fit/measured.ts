/**
 * Measured profiles of a fit, as the command line gives them (platform-neutral:
 * the caller passes a function that reads a file's text).
 *
 *   --measured FILE            a measured profile after the LAST stage
 *   --measured K:FILE          after stage K (1-based, as users count: 1 = the Rb+ stage of
 *                              the paper preset, 2 = the Cs+ stage); repeatable
 *
 * Per-measurement options apply to every file of a stage when written `K:…`,
 * else to all files (a stage-specific one wins):
 *   --sigma [K:]NM             Gaussian depth resolution σ, nm (default 2)
 *   --mri [K:]w,sigma,lambda   Hofmann MRI resolution (mixing length, roughness, information depth, nm)
 *   --window [K:]FROM:TO       depth window of the comparison, nm (default 3:150)
 *   --weights [K:]Li=1,Rb=1    weight of each species' squared differences (0 drops a species)
 *   --shots [K:]N, --crater-depth [K:]NM, --sputter-rate [K:]NM_PER_S,
 *   --sensitivity [K:]Li=1,Cs=2.6      SIMS processing of a raw file (src/sims, docs/model.md §7.1)
 * A file is any format `cait sims` reads: a normalized CSV (depth_nm,Li,Rb,Cs)
 * or raw counts (CSV/TSV, IONTOF ASCII, Cameca) processed on the fly.
 *
 * @example
 * const obs = loadObservations(parseMeasuredArgs({ measured: ['1:rb.csv', '2:cs.csv'], sigma: ['2', '2:20'] }), protocol, (f) => readFileSync(f, 'utf8'));
 */
import type { Protocol } from '../config/schema.js';
import { fmtNum } from '../core/format.js';
import { InputError, fsReason } from '../core/errors.js';
import { elementOf, parseSims, processProfile, type MeasuredProfile, type ProcessOptions, type SimsText } from '../sims/index.js';
import { makeObservation, type DepthResolution, type Observation } from '../observe/observe.js';
import { lengthNm, rateNmPerS } from '../config/units.js';

/** Default Gaussian depth resolution σ, nm (docs/model.md §7.2). */
export const DEFAULT_SIGMA_NM = 2;
/** Default depth window, nm: excludes the first nanometres (surface artefacts). */
export const DEFAULT_WINDOW_NM: [number, number] = [3, 150];

/** The per-measurement options as given on the command line (each repeatable, optionally `K:`-prefixed). */
export interface MeasuredArgs {
  measured: string[];
  sigma?: string[];
  mri?: string[];
  window?: string[];
  weights?: string[];
  shots?: string[];
  craterDepth?: string[];
  sputterRate?: string[];
  sensitivity?: string[];
}

/** One measurement: file, stage (0-based) and everything needed to read and compare it. */
export interface MeasuredSpec {
  /** the argument as given (for messages) */
  arg: string;
  file: string;
  /** 0-based stage; undefined = the last stage of the protocol */
  stage?: number;
}

/** A per-stage option value: `K:rest` (stage K, 1-based) or `rest` (all stages). */
interface Staged<T> {
  stage?: number;
  value: T;
  arg: string;
}

const STAGE_PREFIX = /^(\d+):(.*)$/;

function stagePrefix(option: string, text: string, hasColons: boolean): { stage?: number; rest: string } {
  const t = text.trim();
  if (hasColons) return { rest: t };
  const m = STAGE_PREFIX.exec(t);
  if (!m) return { rest: t };
  const k = Number(m[1]);
  if (!(Number.isInteger(k) && k >= 1)) throw new InputError(`${option} ${text}: the stage before ":" is counted from 1`);
  return { stage: k - 1, rest: m[2] };
}

function positive(option: string, arg: string, s: string, what: string, parse: (t: string) => number = Number): number {
  const v = parse(s.trim());
  if (!(s.trim() !== '' && Number.isFinite(v) && v > 0)) throw new InputError(`${option} ${arg}: ${what} must be a positive number (got "${s.trim()}")`);
  return v;
}

function parseStaged<T>(option: string, list: string[] | undefined, parse: (rest: string, arg: string) => T, colonsInValue = false): Staged<T>[] {
  return (list ?? []).map((arg) => {
    let stage: number | undefined;
    let rest: string;
    if (colonsInValue) {
      // --window FROM:TO or K:FROM:TO
      const parts = arg.trim().split(':');
      if (parts.length === 3) {
        const k = Number(parts[0]);
        if (!(/^\d+$/.test(parts[0].trim()) && k >= 1)) throw new InputError(`${option} ${arg}: expected [K:]FROM:TO with the stage K counted from 1`);
        stage = k - 1;
        rest = `${parts[1]}:${parts[2]}`;
      } else if (parts.length === 2) rest = arg.trim();
      else throw new InputError(`${option} ${arg}: expected FROM:TO (nm) or K:FROM:TO for stage K`);
    } else ({ stage, rest } = stagePrefix(option, arg, false));
    if (!rest) throw new InputError(`${option} ${arg}: no value`);
    return { stage, value: parse(rest, arg), arg };
  });
}

function parseWeights(option: string, rest: string, arg: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of rest.split(',')) {
    const m = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(\S+)\s*$/.exec(part);
    const v = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(v) || v < 0) throw new InputError(`${option} ${arg}: "${part.trim()}" is not SPECIES=WEIGHT with a weight >= 0 (e.g. Li=1,Rb=2)`);
    out[m[1]] = v;
  }
  return out;
}

/** All per-measurement options, parsed (values checked, stages not yet). */
export interface MeasuredOptions {
  specs: MeasuredSpec[];
  sigma: Staged<number>[];
  mri: Staged<DepthResolution>[];
  window: Staged<[number, number]>[];
  weights: Staged<Record<string, number>>[];
  shots: Staged<number>[];
  craterDepth: Staged<number>[];
  sputterRate: Staged<number>[];
  sensitivity: Staged<Record<string, number>>[];
}

/** Parse `--measured` and the per-measurement options; errors name the option and its argument. */
export function parseMeasuredArgs(a: MeasuredArgs): MeasuredOptions {
  if (a.measured.length === 0) throw new InputError('--measured FILE or --measured K:FILE is required (a measured profile after stage K, counted from 1)');
  const specs = a.measured.map((arg): MeasuredSpec => {
    const { stage, rest } = stagePrefix('--measured', arg, false);
    if (!rest) throw new InputError(`--measured ${arg}: no file name after the stage`);
    return stage === undefined ? { arg, file: rest } : { arg, file: rest, stage };
  });
  return {
    specs,
    sigma: parseStaged('--sigma', a.sigma, (r, arg) => positive('--sigma', arg, r, 'σ (nm)')),
    mri: parseStaged('--mri', a.mri, (r, arg) => {
      const p = r.split(',');
      if (p.length !== 3) throw new InputError(`--mri ${arg}: expected w,sigma,lambda (nm), e.g. 1,2,1`);
      return {
        kind: 'mri',
        w_nm: positive('--mri', arg, p[0], 'w (nm)'),
        sigma_nm: positive('--mri', arg, p[1], 'sigma (nm)'),
        lambda_nm: positive('--mri', arg, p[2], 'lambda (nm)'),
      };
    }),
    window: parseStaged(
      '--window',
      a.window,
      (r, arg) => {
        const [f, t] = r.split(':');
        const from = Number(f.trim());
        const to = Number(t.trim());
        if (!(f.trim() !== '' && t.trim() !== '' && Number.isFinite(from) && Number.isFinite(to) && from >= 0))
          throw new InputError(`--window ${arg}: expected FROM:TO in nm with 0 <= FROM (e.g. 3:150)`);
        if (!(to > from)) throw new InputError(`--window ${arg}: TO must be larger than FROM`);
        return [from, to];
      },
      true,
    ),
    weights: parseStaged('--weights', a.weights, (r, arg) => parseWeights('--weights', r, arg)),
    shots: parseStaged('--shots', a.shots, (r, arg) => {
      const v = positive('--shots', arg, r, 'the number of shots');
      if (!Number.isInteger(v)) throw new InputError(`--shots ${arg}: must be an integer`);
      return v;
    }),
    craterDepth: parseStaged('--crater-depth', a.craterDepth, (r, arg) => positive('--crater-depth', arg, r, 'the crater depth (nm, or with a unit: 250nm, 0.25um)', lengthNm)),
    sputterRate: parseStaged('--sputter-rate', a.sputterRate, (r, arg) => positive('--sputter-rate', arg, r, 'the sputter rate (nm/s, or with a unit: 30nm/min)', rateNmPerS)),
    sensitivity: parseStaged('--sensitivity', a.sensitivity, (r, arg) => {
      const w = parseWeights('--sensitivity', r, arg);
      for (const [k, v] of Object.entries(w)) if (!(v > 0)) throw new InputError(`--sensitivity ${arg}: the factor of ${k} must be > 0`);
      return w;
    }),
  };
}

/** The value of a staged option for stage k: the stage-specific one, else the general one, else undefined. Two of the same kind is an error. */
function pick<T>(option: string, list: Staged<T>[], k: number): T | undefined {
  const specific = list.filter((s) => s.stage === k);
  const general = list.filter((s) => s.stage === undefined);
  if (specific.length > 1) throw new InputError(`${option}: given twice for stage ${k + 1} (${specific.map((s) => s.arg).join(', ')})`);
  if (general.length > 1) throw new InputError(`${option}: given twice for all stages (${general.map((s) => s.arg).join(', ')}); prefix K: for stage K`);
  return specific[0]?.value ?? general[0]?.value;
}


/** A loaded measurement: its observation, the window used, and the processed profile. */
export interface LoadedMeasurement {
  spec: MeasuredSpec;
  observation: Observation;
  window_nm: [number, number];
  profile: MeasuredProfile;
  /** the SIMS processing options used */
  processing: ProcessOptions;
}

/**
 * Read, process and cut every measurement into an Observation for `protocol`.
 * Errors name the option and the file: a stage the protocol lacks, a file
 * that cannot be read or parsed, a window without points, a weight for a
 * species the protocol does not have.
 */
export function loadObservations(opts: MeasuredOptions, protocol: Protocol, readText: (file: string) => SimsText): LoadedMeasurement[] {
  const nStages = protocol.stages.length;
  const species = Object.keys(protocol.species);
  const checkStage = (option: string, arg: string, k: number | undefined) => {
    if (k !== undefined && k >= nStages)
      throw new InputError(`${option} ${arg}: stage ${k + 1} does not exist (the protocol has ${nStages} stage${nStages === 1 ? '' : 's'}, 1..${nStages})`);
  };
  for (const s of opts.specs) checkStage('--measured', s.arg, s.stage);
  const measuredStages = new Set(opts.specs.map((s) => s.stage ?? nStages - 1));
  for (const [option, list] of [
    ['--sigma', opts.sigma],
    ['--mri', opts.mri],
    ['--window', opts.window],
    ['--weights', opts.weights],
    ['--shots', opts.shots],
    ['--crater-depth', opts.craterDepth],
    ['--sputter-rate', opts.sputterRate],
    ['--sensitivity', opts.sensitivity],
  ] as [string, Staged<unknown>[]][])
    for (const s of list) {
      checkStage(option, s.arg, s.stage);
      if (s.stage !== undefined && !measuredStages.has(s.stage))
        throw new InputError(`${option} ${s.arg}: no --measured profile is attached to stage ${s.stage + 1}`);
    }
  for (const w of opts.weights)
    for (const sp of Object.keys(w.value))
      if (!species.includes(sp)) throw new InputError(`--weights ${w.arg}: ${sp} is not a species of the protocol (${species.join(', ')})`);
  return opts.specs.map((spec) => {
    const k = spec.stage ?? nStages - 1;
    const where = `--measured ${spec.arg}`;
    let text: SimsText;
    try {
      text = readText(spec.file);
    } catch (e) {
      throw new InputError(`${where}: cannot read ${spec.file} (${fsReason(e)})`);
    }
    const processing: ProcessOptions = {};
    const shots = pick('--shots', opts.shots, k);
    const crater = pick('--crater-depth', opts.craterDepth, k);
    const rate = pick('--sputter-rate', opts.sputterRate, k);
    let sens = pick('--sensitivity', opts.sensitivity, k);
    if (shots !== undefined) processing.shots = shots;
    if (crater !== undefined) processing.craterDepth_nm = crater;
    if (rate !== undefined) processing.sputterRate_nm_s = rate;
    let profile: MeasuredProfile;
    try {
      const raw = parseSims(text, 'auto', where);
      if (sens !== undefined && !opts.sensitivity.some((s) => s.stage === k)) {
        // a --sensitivity for all files: only the elements this file has
        const has = new Set(raw.channels.map((c) => (raw.normalized ? c.label : elementOf(c.label))));
        sens = Object.fromEntries(Object.entries(sens).filter(([el]) => has.has(el)));
      }
      if (sens !== undefined) processing.sensitivity = sens;
      profile = processProfile(raw, processing, where);
    } catch (e) {
      if (e instanceof InputError && !e.message.startsWith(where)) throw new InputError(`${where}: ${e.message}`);
      throw e;
    }
    const window = pick('--window', opts.window, k) ?? DEFAULT_WINDOW_NM;
    const inWindow = profile.depth_nm.filter((x) => x >= window[0] && x <= window[1]).length;
    if (inWindow === 0) {
      const d = profile.depth_nm;
      throw new InputError(
        `--window ${fmtNum(window[0])}:${fmtNum(window[1])} (stage ${k + 1}): no point of ${spec.file} lies in it (its depths span ${fmtNum(d[0])} … ${fmtNum(d[d.length - 1])} nm)`,
      );
    }
    const mri = pick('--mri', opts.mri, k);
    const sigma = pick('--sigma', opts.sigma, k);
    if (mri && opts.sigma.some((s) => s.stage === k))
      throw new InputError(`--mri and --sigma both given for stage ${k + 1}: the MRI function has its own roughness sigma`);
    const resolution: DepthResolution = mri ?? { kind: 'gauss', sigma_nm: sigma ?? DEFAULT_SIGMA_NM };
    const weights = pick('--weights', opts.weights, k);
    let observation: Observation;
    try {
      observation = makeObservation(profile, {
        stage: k,
        label: spec.file,
        protocolSpecies: species,
        window_nm: window,
        weights,
        resolution,
      });
    } catch (e) {
      if (e instanceof InputError) {
        const msg = e.message.startsWith(`${spec.file}: `) ? e.message.slice(spec.file.length + 2) : e.message;
        throw new InputError(`${where}: ${msg}`);
      }
      throw e;
    }
    return { spec, observation, window_nm: window, profile, processing };
  });
}
