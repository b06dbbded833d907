/**
 * SIMS depth profiles: what the parsers return (RawProfile: one axis, time or
 * depth, and counts per mass channel) and what processing makes of them
 * (MeasuredProfile: depth in nm and normalized densities per element).
 * See docs/model.md §7.1 (processing) and docs/formats.md §5 (the formats).
 */

export type SimsFormat = 'csv' | 'iontof' | 'cameca';
export const SIMS_FORMATS: readonly SimsFormat[] = ['csv', 'iontof', 'cameca'];

/** The abscissa of a raw profile: sputter time in s or depth in nm. */
export interface RawAxis {
  kind: 'time_s' | 'depth_nm';
  values: number[];
  /** the column title in the file */
  title: string;
}

export interface RawChannel {
  /** as in the file: 7Li+, 133Cs, Li, … */
  label: string;
  /** 1-based column of the file the values come from */
  column: number;
  /** counts per point (or a normalized density for element columns) */
  values: number[];
}

/** Parameters found in a file (Cameca parameter sections); all optional. */
export interface FileParams {
  craterDepth_nm?: number;
  totalTime_s?: number;
  sputterRate_nm_s?: number;
  deadTime_ns?: number;
}

export interface RawProfile {
  format: SimsFormat;
  axis: RawAxis;
  channels: RawChannel[];
  /** 1-based source line of every point (for messages) */
  lines: number[];
  /** true when the columns are elements (Li, Rb, Cs) already normalized, not mass channels */
  normalized: boolean;
  params: FileParams;
  warnings: string[];
}

export interface ProcessOptions {
  /** primary-ion shots per data point, for the Poisson (dead-time) correction; omitted: no correction */
  shots?: number;
  /** crater depth, nm: depth = t · crater / total sputter time */
  craterDepth_nm?: number;
  /** constant sputter rate, nm/s: depth = rate · t */
  sputterRate_nm_s?: number;
  /** relative sensitivity factor per element (default 1) */
  sensitivity?: Record<string, number>;
  /**
   * detector dead time, ns, for the non-paralysable correction of count
   * rates (cnt/s): N = N_obs / (1 − N_obs τ). Omitted: the file's (Cameca
   * "EM Dead Time"); 0: no correction.
   */
  deadTime_ns?: number;
  /** calibrate the sensitivity factors of the beam species from the delivered charges: ∫ c_X dx = Q_X / (e n0 A) */
  calibrate?: ChargeCalibration;
}

/** Delivered charge per beam species (C) with the sample's native density n0 (m⁻³) and irradiated area A (m²). */
export interface ChargeCalibration {
  charge_C: Record<string, number>;
  n0_m3: number;
  area_m2: number;
}

/** What the calibration found for one element. */
export interface CalibratedElement {
  charge_C: number;
  /** Q / (e n0 A), nm: the required ∫ c dx */
  inventory_nm: number;
  /** the calibrated relative sensitivity factor */
  sensitivity: number;
  /** c of the element at the deepest point (should be ~0: the whole inventory inside the profile) */
  lastValue: number;
}

export interface MeasuredProfile {
  format: SimsFormat;
  /** depth of every point, nm */
  depth_nm: number[];
  /** elements in order of first appearance */
  elements: string[];
  /** channels that name no single element (clusters such as CsMo+, by their label without the charge), kept as their own */
  extra: string[];
  /** normalized density per element (Σ over the elements = 1 at every point); an extra channel relative to the same sum */
  c: Record<string, number[]>;
  /** mass-channel labels summed into each element (and the label of each extra channel) */
  channelsOf: Record<string, string[]>;
  /** how depth was obtained, e.g. "crater depth 250 nm / total time 500 s" */
  depthFrom: string;
  raw: RawProfile;
  /** the relative sensitivity factors used, per element */
  sensitivity: Record<string, number>;
  /** the dead-time correction applied, if any */
  deadTime?: { tau_ns: number; from: 'file' | 'option'; maxLoad: number };
  /** the charge calibration, if asked for: per calibrated element */
  calibration?: Record<string, CalibratedElement>;
  /** one line per processing step applied (for summaries and output comments) */
  notes: string[];
  warnings: string[];
}
