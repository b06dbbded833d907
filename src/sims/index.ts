/**
 * SIMS import: detect the format of a depth-profile file by its content,
 * parse it into raw channels, and process it into a measured profile
 * (depth in nm, normalized densities per element). Pure functions on text;
 * reading files is the CLI's job (src/cli/sims.ts).
 */
import { InputError } from '../core/errors.js';
import { parseCameca } from './cameca.js';
import { parseCsv } from './csv.js';
import { detectFormat } from './detect.js';
import { parseIontof } from './iontof.js';
import { processProfile } from './process.js';
import type { MeasuredProfile, ProcessOptions, RawProfile, SimsFormat } from './types.js';
import { SIMS_FORMATS } from './types.js';
import { Lines, type SimsText } from './util.js';

export * from './types.js';
export { detectFormat } from './detect.js';
export { parseCsv } from './csv.js';
export { parseIontof } from './iontof.js';
export { parseCameca, interpLinear } from './cameca.js';
export { processProfile, poissonCorrect, SATURATION_WARN, deadTimeCorrect, DEAD_TIME_WARN, profileIntegral } from './process.js';
export { channelOf, elementOf, Lines, type SimsText } from './util.js';

/** Parse a file's text (a string or its pieces, see Lines) in a given format, or auto-detected. */
export function parseSims(text: SimsText, format: SimsFormat | 'auto' = 'auto', where = 'input'): RawProfile {
  const lines = new Lines(text, where);
  const f = format === 'auto' ? detectFormat(lines, where) : format;
  switch (f) {
    case 'csv':
      return parseCsv(lines, where);
    case 'iontof':
      return parseIontof(lines, where);
    case 'cameca':
      return parseCameca(lines, where);
    default:
      throw new InputError(`unknown format ${String(f)} (one of auto, ${SIMS_FORMATS.join(', ')})`);
  }
}

/** Parse and process: the measured profile of a SIMS file's text. */
export function importSims(text: SimsText, opts: ProcessOptions & { format?: SimsFormat | 'auto' } = {}, where = 'input'): MeasuredProfile {
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
  // rows joined in blocks: a profile of millions of points does not become millions of small strings at once
  const series = cols.map((e) => p.c[e]);
  for (let start = 0; start < p.depth_nm.length; start += 8192) {
    const block: string[] = [];
    for (let i = start; i < Math.min(p.depth_nm.length, start + 8192); i++) {
      let row = num(p.depth_nm[i]);
      for (const v of series) row += ',' + num(v[i]);
      block.push(row);
    }
    out.push(block.join('\n'));
  }
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
