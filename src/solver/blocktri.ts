/**
 * The partitioned solve of a block-tridiagonal system — the linear algebra
 * of the WebGPU engine (shaders/npp_qn.wgsl), written once more here so
 * that the f64 twin runs the same algorithm and so that, with `round =
 * Math.fround`, the error float32 makes can be measured on the CPU
 * (docs/numerics.md §4).
 *
 * The system: block rows i = 0..N−1 of m unknowns,
 *   A_i x_{i−1} + B_i x_i + C_i x_{i+1} = r_i     (A_0 = C_{N−1} = 0),
 * with q right-hand sides solved together (r_i is m × q). Blocks are
 * row-major m × m at i·m², right-hand sides m × q at i·m·q.
 *
 * 1. Partitions: P runs of consecutive cells, start_p = ⌊pN/P⌋, each at
 *    least 2 cells (P ≤ ⌊N/2⌋). On the GPU one invocation owns a partition.
 * 2. In each partition s..t, a block elimination expresses every interior
 *    cell through the partition's first and last cells:
 *      x_k = d_k − a_k x_s − c_k x_t        (s < k < t),
 *    a forward sweep (x_k + a_k x_s + c_k x_{k+1} = d_k) and a backward one.
 * 3. The first and last rows then couple only first and last unknowns:
 *      F_p:  A_s x_{t(p−1)} + BF x_s + CF x_t = rF,
 *      L_p:  AL x_s + BL x_t + C_t x_{s(p+1)} = rL;
 *    F_p gives x_s = fr − fa x_{t(p−1)} − fc x_t, which eliminates the first
 *    unknowns: a block-tridiagonal system of P rows in the last unknowns
 *      α_p x_{t(p−1)} + β_p x_{t(p)} + γ_p x_{t(p+1)} = ρ_p.
 * 4. Parallel cyclic reduction (Hockney 1965) on the P rows: ⌈log2 P⌉ levels;
 *    at each level every row first inverts its own β (shared with the rows
 *    that need it), then eliminates its neighbours at distance 2^level.
 * 5. Back-substitution: x_s from F_p, then the interior cells.
 *
 * Pivoting happens only inside the m × m block inverses (Gauss–Jordan with
 * row scaling and partial pivoting). The smallest scaled pivot of all of them
 * is returned: the caller rejects the Newton step when it is below its
 * tolerance rather than lose accuracy silently.
 */

/**
 * Invocations per lattice of the WebGPU engine by default, and so the partitions of the twin's solve
 * (docs/numerics.md §4).
 */
export const DEFAULT_LANES = 64;

/**
 * The smallest scaled block pivot a Newton system may have (`solve`'s minPivot): below it the step is
 * refused and retried smaller. Calibrated on every Newton system of the paper preset (docs/numerics.md §4).
 */
export const BLOCK_PIVOT_TOL = 1e-6;

/** Rounding applied after every operation: identity for f64, Math.fround to imitate float32. */
export type Round = (x: number) => number;
export const EXACT: Round = (x) => x;

/** Partitions of N cells for `lanes` invocations: at most one per invocation and at least 2 cells each. */
export function partitionCount(N: number, lanes: number): number {
  if (!(N >= 2)) throw new RangeError(`a partitioned block solve needs at least 2 cells, not ${N}`);
  return Math.max(1, Math.min(lanes, Math.floor(N / 2)));
}

/** start_p = ⌊pN/P⌋ for p = 0..P (P + 1 values; partition p is cells start_p .. start_{p+1} − 1). */
export function partitionStarts(N: number, P: number): Int32Array {
  return Int32Array.from({ length: P + 1 }, (_, p) => Math.floor((p * N) / P));
}

/** The largest partition: the cells one invocation owns at most. */
export function cellsPerPartition(N: number, P: number): number {
  return Math.ceil(N / P);
}

/** Outcome of a solve: the smallest scaled pivot of every block inverse, and the cell where it was taken. */
export interface BlockSolveStats {
  minPivot: number;
  cell: number;
}

/**
 * Inverse of the m × m block M (row-major at `mo`) into `out` (at `oo`) by
 * Gauss–Jordan with row scaling and partial pivoting (compare-and-swap); returns the smallest
 * pivot of the row-scaled matrix (0 when a row is zero or a pivot vanishes).
 */
export function blockInverse(M: Float64Array, mo: number, out: Float64Array, oo: number, m: number, rnd: Round, work: Float64Array): number {
  const w = 2 * m;
  let minPivot = Infinity;
  for (let r = 0; r < m; r++) {
    let s = 0;
    for (let c = 0; c < m; c++) s = Math.max(s, Math.abs(M[mo + r * m + c]));
    if (!(s > 0) || !Number.isFinite(s)) return 0;
    const inv = rnd(1 / s);
    for (let c = 0; c < m; c++) {
      work[r * w + c] = rnd(M[mo + r * m + c] * inv);
      work[r * w + m + c] = c === r ? inv : 0;
    }
  }
  for (let j = 0; j < m; j++) {
    // partial pivoting by compare-and-swap (as the shader, where every index must be a loop counter)
    for (let r = j + 1; r < m; r++)
      if (Math.abs(work[r * w + j]) > Math.abs(work[j * w + j]))
        for (let c = 0; c < w; c++) {
          const t = work[j * w + c];
          work[j * w + c] = work[r * w + c];
          work[r * w + c] = t;
        }
    const piv = work[j * w + j];
    minPivot = Math.min(minPivot, Math.abs(piv));
    if (!(Math.abs(piv) > 0)) return 0;
    const ip = rnd(1 / piv);
    for (let c = 0; c < w; c++) work[j * w + c] = rnd(work[j * w + c] * ip);
    for (let r = 0; r < m; r++) {
      if (r === j) continue;
      const f = work[r * w + j];
      for (let c = 0; c < w; c++) work[r * w + c] = rnd(work[r * w + c] - rnd(f * work[j * w + c]));
    }
  }
  for (let r = 0; r < m; r++) for (let c = 0; c < m; c++) out[oo + r * m + c] = work[r * w + m + c];
  return minPivot;
}

/** out = X·Y (X rows × inner, Y inner × cols; row-major); out must not alias X or Y. */
function mul(out: Float64Array, oo: number, X: Float64Array, xo: number, Y: Float64Array, yo: number, rows: number, inner: number, cols: number, rnd: Round): void {
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      let acc = 0;
      for (let k = 0; k < inner; k++) acc = rnd(acc + rnd(X[xo + r * inner + k] * Y[yo + k * cols + c]));
      out[oo + r * cols + c] = acc;
    }
}

/** out −= X·Y (out must not alias X or Y). */
function mulSub(out: Float64Array, oo: number, X: Float64Array, xo: number, Y: Float64Array, yo: number, rows: number, inner: number, cols: number, rnd: Round): void {
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      let acc = 0;
      for (let k = 0; k < inner; k++) acc = rnd(acc + rnd(X[xo + r * inner + k] * Y[yo + k * cols + c]));
      out[oo + r * cols + c] = rnd(out[oo + r * cols + c] - acc);
    }
}

function copy(out: Float64Array, oo: number, X: Float64Array, xo: number, len: number): void {
  for (let k = 0; k < len; k++) out[oo + k] = X[xo + k];
}

function negate(X: Float64Array, xo: number, len: number): void {
  for (let k = 0; k < len; k++) X[xo + k] = -X[xo + k];
}

/**
 * A partitioned block-tridiagonal solver for N cells of m unknowns, up to
 * `qMax` right-hand sides, P partitions (all work arrays allocated once).
 */
export class BlockTriSolver {
  readonly start: Int32Array;
  private readonly mm: number;
  // interior cells: a_k, c_k (m × m), d_k (m × q)
  private readonly a: Float64Array;
  private readonly c: Float64Array;
  private readonly d: Float64Array;
  // per partition: the first and last rows, and F solved for x_s
  private readonly BF: Float64Array;
  private readonly CF: Float64Array;
  private readonly rF: Float64Array;
  private readonly AL: Float64Array;
  private readonly BL: Float64Array;
  private readonly rL: Float64Array;
  private readonly fa: Float64Array;
  private readonly fc: Float64Array;
  private readonly fr: Float64Array;
  // the reduced system (current and next level of PCR) and the inverses of β
  private al: Float64Array;
  private be: Float64Array;
  private ga: Float64Array;
  private rho: Float64Array;
  private al2: Float64Array;
  private be2: Float64Array;
  private ga2: Float64Array;
  private rho2: Float64Array;
  private readonly bi: Float64Array;
  /** x of each partition's last cell */
  private readonly xt: Float64Array;
  private readonly t1: Float64Array;
  private readonly t2: Float64Array;
  private readonly t3: Float64Array;
  private readonly work: Float64Array;

  constructor(
    readonly N: number,
    readonly m: number,
    readonly qMax: number,
    readonly P: number,
  ) {
    if (!(P >= 1 && 2 * P <= N) && !(P === 1 && N >= 2)) throw new RangeError(`${P} partitions of ${N} cells: each needs at least 2 cells`);
    this.start = partitionStarts(N, P);
    const mm = (this.mm = m * m);
    const mq = m * qMax;
    this.a = new Float64Array(N * mm);
    this.c = new Float64Array(N * mm);
    this.d = new Float64Array(N * mq);
    const pm = () => new Float64Array(P * mm);
    const pq = () => new Float64Array(P * mq);
    this.BF = pm();
    this.CF = pm();
    this.rF = pq();
    this.AL = pm();
    this.BL = pm();
    this.rL = pq();
    this.fa = pm();
    this.fc = pm();
    this.fr = pq();
    this.al = pm();
    this.be = pm();
    this.ga = pm();
    this.rho = pq();
    this.al2 = pm();
    this.be2 = pm();
    this.ga2 = pm();
    this.rho2 = pq();
    this.bi = pm();
    this.xt = pq();
    this.t1 = new Float64Array(Math.max(mm, mq));
    this.t2 = new Float64Array(Math.max(mm, mq));
    this.t3 = new Float64Array(Math.max(mm, mq));
    this.work = new Float64Array(2 * mm);
  }

  /**
   * Solve for q ≤ qMax right-hand sides: r (N × m × q) is overwritten by x.
   * A, B, C are not modified. Returns the smallest scaled pivot (and where).
   */
  solve(A: Float64Array, B: Float64Array, C: Float64Array, r: Float64Array, q: number, rnd: Round = EXACT): BlockSolveStats {
    const { m, P, mm, start, a, c, d, t1, t2, work } = this;
    const mq = m * q;
    const stats: BlockSolveStats = { minPivot: Infinity, cell: -1 };
    const inv = (M: Float64Array, mo: number, out: Float64Array, oo: number, cell: number) => {
      const p = blockInverse(M, mo, out, oo, m, rnd, work);
      if (!(p >= stats.minPivot)) {
        stats.minPivot = p;
        stats.cell = cell;
      }
    };
    for (let p = 0; p < P; p++) {
      const s = start[p];
      const t = start[p + 1] - 1;
      // forward sweep over the interior: x_k + a_k x_s + c_k x_{k+1} = d_k
      for (let k = s + 1; k < t; k++) {
        if (k === s + 1) copy(t1, 0, B, k * mm, mm);
        else {
          copy(t1, 0, B, k * mm, mm);
          mulSub(t1, 0, A, k * mm, c, (k - 1) * mm, m, m, m, rnd);
        }
        inv(t1, 0, t2, 0, k); // t2 = G
        mul(c, k * mm, t2, 0, C, k * mm, m, m, m, rnd);
        if (k === s + 1) {
          mul(a, k * mm, t2, 0, A, k * mm, m, m, m, rnd);
          mul(d, k * mq, t2, 0, r, k * mq, m, m, q, rnd);
        } else {
          mul(t1, 0, A, k * mm, a, (k - 1) * mm, m, m, m, rnd);
          mul(a, k * mm, t2, 0, t1, 0, m, m, m, rnd);
          negate(a, k * mm, mm);
          copy(t1, 0, r, k * mq, mq);
          mulSub(t1, 0, A, k * mm, d, (k - 1) * mq, m, m, q, rnd);
          mul(d, k * mq, t2, 0, t1, 0, m, m, q, rnd);
        }
      }
      // backward sweep: x_k = d_k − a_k x_s − c_k x_t
      for (let k = t - 2; k > s; k--) {
        mulSub(d, k * mq, c, k * mm, d, (k + 1) * mq, m, m, q, rnd);
        mulSub(a, k * mm, c, k * mm, a, (k + 1) * mm, m, m, m, rnd);
        mul(t1, 0, c, k * mm, c, (k + 1) * mm, m, m, m, rnd);
        copy(c, k * mm, t1, 0, mm);
        negate(c, k * mm, mm);
      }
      // the first and last rows in the first and last unknowns
      const po = p * mm;
      const pq = p * mq;
      copy(this.BF, po, B, s * mm, mm);
      copy(this.rF, pq, r, s * mq, mq);
      copy(this.BL, po, B, t * mm, mm);
      copy(this.rL, pq, r, t * mq, mq);
      if (t - s >= 2) {
        mulSub(this.BF, po, C, s * mm, a, (s + 1) * mm, m, m, m, rnd);
        mul(this.CF, po, C, s * mm, c, (s + 1) * mm, m, m, m, rnd);
        negate(this.CF, po, mm);
        mulSub(this.rF, pq, C, s * mm, d, (s + 1) * mq, m, m, q, rnd);
        mul(this.AL, po, A, t * mm, a, (t - 1) * mm, m, m, m, rnd);
        negate(this.AL, po, mm);
        mulSub(this.BL, po, A, t * mm, c, (t - 1) * mm, m, m, m, rnd);
        mulSub(this.rL, pq, A, t * mm, d, (t - 1) * mq, m, m, q, rnd);
      } else {
        copy(this.CF, po, C, s * mm, mm);
        copy(this.AL, po, A, t * mm, mm);
      }
      // x_s = fr − fa x_{t(p−1)} − fc x_t
      inv(this.BF, po, t2, 0, s);
      mul(this.fa, po, t2, 0, A, s * mm, m, m, m, rnd);
      mul(this.fc, po, t2, 0, this.CF, po, m, m, m, rnd);
      mul(this.fr, pq, t2, 0, this.rF, pq, m, m, q, rnd);
    }
    // the reduced system in the last unknowns
    for (let p = 0; p < P; p++) {
      const po = p * mm;
      const pq = p * mq;
      const t = start[p + 1] - 1;
      mul(this.al, po, this.AL, po, this.fa, po, m, m, m, rnd);
      negate(this.al, po, mm);
      copy(this.be, po, this.BL, po, mm);
      mulSub(this.be, po, this.AL, po, this.fc, po, m, m, m, rnd);
      copy(this.rho, pq, this.rL, pq, mq);
      mulSub(this.rho, pq, this.AL, po, this.fr, pq, m, m, q, rnd);
      if (p + 1 < P) {
        mulSub(this.be, po, C, t * mm, this.fa, po + mm, m, m, m, rnd);
        mul(this.ga, po, C, t * mm, this.fc, po + mm, m, m, m, rnd);
        negate(this.ga, po, mm);
        mulSub(this.rho, pq, C, t * mm, this.fr, pq + mq, m, m, q, rnd);
      } else this.ga.fill(0, po, po + mm);
    }
    // parallel cyclic reduction
    const t3 = this.t3;
    for (let st = 1; st < P; st *= 2) {
      for (let p = 0; p < P; p++) inv(this.be, p * mm, this.bi, p * mm, start[p + 1] - 1);
      for (let p = 0; p < P; p++) {
        const po = p * mm;
        const pq = p * mq;
        copy(this.be2, po, this.be, po, mm);
        copy(this.rho2, pq, this.rho, pq, mq);
        this.al2.fill(0, po, po + mm);
        this.ga2.fill(0, po, po + mm);
        if (p - st >= 0) {
          const lo = po - st * mm;
          mul(t3, 0, this.al, po, this.bi, lo, m, m, m, rnd); // k1 = α_p β_lo⁻¹
          mul(this.al2, po, t3, 0, this.al, lo, m, m, m, rnd);
          negate(this.al2, po, mm);
          mulSub(this.be2, po, t3, 0, this.ga, lo, m, m, m, rnd);
          mulSub(this.rho2, pq, t3, 0, this.rho, pq - st * mq, m, m, q, rnd);
        }
        if (p + st < P) {
          const hi = po + st * mm;
          mul(t3, 0, this.ga, po, this.bi, hi, m, m, m, rnd); // k2 = γ_p β_hi⁻¹
          mul(this.ga2, po, t3, 0, this.ga, hi, m, m, m, rnd);
          negate(this.ga2, po, mm);
          mulSub(this.be2, po, t3, 0, this.al, hi, m, m, m, rnd);
          mulSub(this.rho2, pq, t3, 0, this.rho, pq + st * mq, m, m, q, rnd);
        }
      }
      [this.al, this.al2] = [this.al2, this.al];
      [this.be, this.be2] = [this.be2, this.be];
      [this.ga, this.ga2] = [this.ga2, this.ga];
      [this.rho, this.rho2] = [this.rho2, this.rho];
    }
    for (let p = 0; p < P; p++) {
      inv(this.be, p * mm, t2, 0, start[p + 1] - 1);
      mul(this.xt, p * mq, t2, 0, this.rho, p * mq, m, m, q, rnd);
    }
    // back-substitution
    for (let p = 0; p < P; p++) {
      const s = start[p];
      const t = start[p + 1] - 1;
      const po = p * mm;
      const pq = p * mq;
      copy(t1, 0, this.fr, pq, mq);
      if (p > 0) mulSub(t1, 0, this.fa, po, this.xt, pq - mq, m, m, q, rnd);
      mulSub(t1, 0, this.fc, po, this.xt, pq, m, m, q, rnd);
      copy(r, s * mq, t1, 0, mq);
      copy(r, t * mq, this.xt, pq, mq);
      for (let k = s + 1; k < t; k++) {
        copy(r, k * mq, d, k * mq, mq);
        mulSub(r, k * mq, a, k * mm, t1, 0, m, m, q, rnd);
        mulSub(r, k * mq, c, k * mm, this.xt, pq, m, m, q, rnd);
      }
    }
    return stats;
  }
}
