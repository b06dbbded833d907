/**
 * Defaults of command-line options that both the commands and their help
 * texts (help.ts) name.
 */
import { paper } from '../config/presets.js';

/** Array tasks of one batch when --slurm-array is not given. */
export const DEFAULT_SLURM_TASKS = 10;
/** Seconds between squeue polls when --slurm-poll is not given. */
export const DEFAULT_SLURM_POLL_S = 5;

/** Defaults of `cait sims --n0` and `--area`: the paper preset's sample. */
export const CALIBRATION_DEFAULTS = { n0_m3: paper.sample.n0_m3, area_m2: paper.sample.area_m2 };
