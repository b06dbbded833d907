/**
 * The three jobs of a stage's time loop besides the step itself
 * (docs/numerics.md §5), each in one place, driven by `StageRunner.steps`
 * (simulate.ts):
 * - {@link StageTargets}: where the stage stops (delivered charge or
 *   duration) and the record times and charges it must land on;
 * - {@link StepController}: the next Δt after an accepted step, a failed
 *   Newton solve, a rejection, and the secant that lands a step on a charge
 *   target;
 * - {@link StageRecorder}: the current record and the snapshots.
 *
 * The WGSL engine runs the same rules in its shader (shaders/, constants
 * from the same StepNumerics); the twin tests compare step counts.
 */
import type { Stage } from '../config/schema.js';
import type { BoundaryFluxes, StageSystem } from './npp.js';
import type { StepNumerics } from './simulate.js';
import type { Snapshot, StageResult } from './types.js';

/** The stop and record targets of one stage, in time (s) and delivered charge (C). */
export class StageTargets {
  /** stop charge, if the stage stops on its charge */
  readonly stopQ: number | undefined;
  /** stop time, if the stage stops on its duration */
  readonly stopT: number | undefined;
  /** the latest time the stage may run to: its duration, else max_duration_s */
  readonly maxT: number;
  /** record times before maxT and record charges before the stop charge, ascending; consumed as they are reached */
  private readonly recT: number[];
  private readonly recQ: number[];

  constructor(
    stage: Stage,
    private readonly rtol: number,
  ) {
    this.stopQ = 'charge_C' in stage.stop ? stage.stop.charge_C : undefined;
    this.stopT = 'duration_s' in stage.stop ? stage.stop.duration_s : undefined;
    const maxT = this.stopT ?? stage.max_duration_s;
    this.maxT = maxT;
    const stopQ = this.stopQ;
    this.recT = [...stage.record.times_s].filter((t) => t < maxT).sort((a, b) => a - b);
    this.recQ = [...stage.record.charges_C].filter((q) => stopQ === undefined || q < stopQ).sort((a, b) => a - b);
  }

  /** the next time target: the stop time (or maxT) or the next record time, whichever comes first */
  timeLimit(): number {
    const { recT, maxT } = this;
    return recT.length && recT[0] < maxT ? recT[0] : maxT;
  }

  /** the next charge target: the stop charge or the next record charge, whichever comes first; none for a duration stop without record charges */
  chargeTarget(): number | undefined {
    const { recQ, stopQ } = this;
    return recQ.length && (stopQ === undefined || recQ[0] < stopQ) ? recQ[0] : stopQ;
  }

  /**
   * After an accepted step to (t, Q): how many record targets it reached (0, 1 or 2 snapshots to
   * take), consuming them — a record time when the step was clipped to hit it, a record charge when
   * the step landed on the charge target it aimed at (`qTarget`).
   */
  reached(t: number, Q: number, hitsTime: boolean, qTarget: number | undefined): number {
    const { recT, recQ, rtol } = this;
    let n = 0;
    if (hitsTime && recT.length && recT[0] <= t * (1 + rtol)) {
      recT.shift();
      n++;
    }
    const reachedQ = qTarget !== undefined && Q >= qTarget * (1 - rtol);
    if (reachedQ && recQ.length && recQ[0] === qTarget) {
      recQ.shift();
      n++;
    }
    return n;
  }

  /** has the stage reached its stop charge or its duration? */
  done(t: number, Q: number): boolean {
    const { stopQ, stopT, rtol } = this;
    return (stopQ !== undefined && Q >= stopQ * (1 - rtol)) || (stopT !== undefined && t >= stopT * (1 - rtol));
  }

  /** has a charge-stopped stage run out of time (max_duration_s) before delivering its charge? */
  outOfTime(t: number): boolean {
    return this.stopQ !== undefined && t >= this.maxT * (1 - this.rtol);
  }

  /** progress within the stage (0..1), by charge or by time */
  fraction(t: number, Q: number): number {
    return this.stopQ !== undefined ? Math.min(1, Q / this.stopQ) : Math.min(1, t / this.maxT);
  }
}

/**
 * Step-size control (docs/numerics.md §5): growth by SAFETY·err^(−1/3) within [MIN_GROWTH, MAX_GROWTH]
 * after an accepted step; cuts after a failed Newton solve, an error estimate above 1 or a negative
 * density; up to MAX_SECANT secant retries to land on a charge target; after a step clipped to a
 * time target, the step size of the last free step is resumed.
 */
export class StepController {
  /** the step size to try next, s */
  dt: number;
  private lastFreeDt: number | undefined;
  private secantTries = 0;

  constructor(
    private readonly num: StepNumerics,
    private readonly dtMax: number,
    dt0: number,
  ) {
    this.dt = dt0;
  }

  /** the step to try from t: dt clipped to dt_max and to the time target `tLimit`; `hitsTime` when it ends on it */
  propose(t: number, tLimit: number): { dtTry: number; hitsTime: boolean } {
    let dtTry = Math.min(this.dt, this.dtMax, tLimit - t);
    const hitsTime = dtTry >= tLimit - t - this.num.TARGET_RTOL * Math.max(tLimit, 1);
    if (hitsTime) dtTry = tLimit - t;
    return { dtTry, hitsTime };
  }

  /** the Newton solve of a step of dtTry failed: cut; false when the cut step is below DT_FLOOR */
  newtonFailed(dtTry: number): boolean {
    this.dt = dtTry * this.num.NEWTON_CUT;
    return !(this.dt < this.num.DT_FLOOR);
  }

  /**
   * A step of dtTry was rejected, by its error estimate `err` (> 1) or a negative density: cut;
   * false when the cut step is below DT_FLOOR or the estimate was not finite (the stage ends).
   */
  rejected(dtTry: number, err: number, nonFinite: boolean): boolean {
    const { MIN_CUT, REJECT_SAFETY, NEGATIVE_CUT, DT_FLOOR } = this.num;
    const fac = err > 1 ? Math.max(MIN_CUT, REJECT_SAFETY * Math.pow(err, -1 / 3)) : NEGATIVE_CUT;
    this.dt = dtTry * fac;
    return !(this.dt < DT_FLOOR || nonFinite);
  }

  /**
   * A step of dtTry from charge Q delivers dQ. When it overshoots the charge target by more than
   * TARGET_RTOL (and secant tries are left), the next try is the secant's step onto the target and
   * this returns true (retry); otherwise the step is taken as it is (false).
   */
  overshoots(dtTry: number, Q: number, dQ: number, qTarget: number | undefined): boolean {
    const { TARGET_RTOL, MAX_SECANT } = this.num;
    if (qTarget !== undefined && Q + dQ > qTarget * (1 + TARGET_RTOL) && this.secantTries < MAX_SECANT) {
      this.secantTries++;
      this.dt = dtTry * ((qTarget - Q) / dQ) * (1 - 0.1 * TARGET_RTOL);
      return true;
    }
    this.secantTries = 0;
    return false;
  }

  /** a step of dtTry with error estimate err was accepted: the next step size */
  accepted(dtTry: number, err: number, hitsTime: boolean): void {
    const { SAFETY, MAX_GROWTH, MIN_GROWTH } = this.num;
    const grow = err > 0 ? SAFETY * Math.pow(err, -1 / 3) : MAX_GROWTH;
    let dt = dtTry * Math.min(MAX_GROWTH, Math.max(MIN_GROWTH, grow));
    // after a step clamped to hit a time target, resume the step size of the last free step
    if (hitsTime) dt = Math.max(dt, this.lastFreeDt ?? dt);
    else this.lastFreeDt = dt;
    this.dt = dt;
  }
}

/**
 * The current record of a stage (beam current at the front, back current, delivered charge, after
 * every accepted step) and its snapshots. Particle fluxes are in n0·nm/s; `toAmp` = e·A·n0·1e-9
 * turns them into A.
 */
export class StageRecorder {
  readonly current: StageResult['current'] = { t_s: [], I_A: [], I_back_A: [], Q_C: [] };
  readonly snapshots: Snapshot[] = [];
  private readonly zBeam: number;

  constructor(
    private readonly sys: StageSystem,
    private readonly species: readonly string[],
    /** the stage's start densities, per protocol species (those the stage does not transport are reported from here) */
    private readonly dens: readonly Float64Array[],
    private readonly toAmp: number,
  ) {
    this.zBeam = sys.z[sys.beam];
  }

  /** the charge (C) of beam particles crossing the front, from per-species crossings in n0·nm */
  chargeOf(crossedFront: Float64Array): number {
    return this.zBeam * crossedFront[this.sys.beam] * this.toAmp;
  }

  /** one point of the current record: the currents of the boundary fluxes `bf` at time t, charge Q */
  record(t: number, Q: number, bf: BoundaryFluxes): void {
    const { sys, current: rec } = this;
    rec.t_s.push(t);
    rec.I_A.push(this.zBeam * bf.front[sys.beam] * this.toAmp);
    let ib = 0;
    for (let s = 0; s < sys.S; s++) ib += sys.z[s] * bf.back[s];
    rec.I_back_A.push(ib * this.toAmp);
    rec.Q_C.push(Q);
  }

  /** the last recorded beam current, A */
  lastCurrent(): number {
    return this.current.I_A[this.current.I_A.length - 1];
  }

  /** a snapshot of every protocol species' density at (t, Q) from the packed state y */
  snapshot(t: number, Q: number, y: Float64Array): void {
    const { sys, dens } = this;
    const N = sys.N;
    const S = sys.S;
    const d: Record<string, number[]> = {};
    const nAll = sys.fill(y);
    this.species.forEach((nm, k) => {
      const s = sys.active.indexOf(k);
      d[nm] = s < 0 ? Array.from(dens[k]) : Array.from({ length: N }, (_, i) => nAll[i * S + s]);
    });
    this.snapshots.push({ t_s: t, charge_C: Q, density: d });
  }
}
