/**
 * SIMS import: detect the format of a depth-profile file by its content,
 * parse it into raw channels, and process it into a measured profile
 * (depth in nm, normalized densities per element). Pure functions on text;
 * reading files is the CLI's job (src/cli/sims.ts).
 */
import { InputError } from '../config/validate.js';
import { parseCameca } from './cameca.js';
import { parseCsv } from './csv.js';
import { detectFormat } from './detect.js';
import { parseIontof } from './iontof.js';
import { processProfile } from './process.js';
import type { MeasuredProfile, ProcessOptions, RawProfile, SimsFormat } from './types.js';
import { SIMS_FORMATS } from './types.js';

export * from './types.js';
export { detectFormat } from './detect.js';
export { parseCsv } from './csv.js';
export { parseIontof } from './iontof.js';
export { parseCameca, interpLinear } from './cameca.js';
export { processProfile, poissonCorrect, SATURATION_WARN, deadTimeCorrect, DEAD_TIME_WARN, profileIntegral } from './process.js';
export { channelOf, elementOf } from './util.js';

/** Parse text in a given format, or auto-detected. */
export function parseSims(text: string, format: SimsFormat | 'auto' = 'auto', where = 'input'): RawProfile {
  const f = format === 'auto' ? detectFormat(text, where) : format;
  switch (f) {
    case 'csv':
      return parseCsv(text, where);
    case 'iontof':
      return parseIontof(text, where);
    case 'cameca':
      return parseCameca(text, where);
    default:
      throw new InputError(`unknown format ${String(f)} (one of auto, ${SIMS_FORMATS.join(', ')})`);
  }
}

/** Parse and process: the measured profile of a SIMS file's text. */
export function importSims(text: string, opts: ProcessOptions & { format?: SimsFormat | 'auto' } = {}, where = 'input'): MeasuredProfile {
  return processProfile(parseSims(text, opts.format ?? 'auto', where), opts, where);
}

/** Number in the output CSV: up to 8 significant digits. */
function num(x: number): string {
  return String(Number(x.toPrecision(8)));
}

/** The profile as CSV: `#` comment lines, then depth_nm,<elements…>. */
export function measuredProfileCsv(p: MeasuredProfile, comments: readonly string[] = []): string {
  const out: string[] = comments.map((c) => `# ${c}`);
  const cols = [...p.elements, ...p.extra];
  out.push(['depth_nm', ...cols].join(','));
  for (let i = 0; i < p.depth_nm.length; i++) out.push([num(p.depth_nm[i]), ...cols.map((e) => num(p.c[e][i]))].join(','));
  return out.join('\n') + '\n';
}
export {
  synthesizeSims,
  syntheticSimsText,
  syntheticCsv,
  syntheticIontof,
  syntheticCameca,
  syntheticParamsOf,
  isSyntheticSims,
  SYNTHETIC_MARK,
  ISOTOPES,
  type SyntheticOptions,
  type SyntheticSims,
  type SyntheticChannel,
  type SyntheticDetector,
  type Isotope,
} from './synthetic.js';
