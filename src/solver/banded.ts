/**
 * Banded LU factorisation with partial pivoting (the LAPACK dgbtf2/dgbtrs
 * algorithm, unblocked), f64. Storage is LAPACK's: column-major with
 * ldab = 2 kl + ku + 1 rows; A(i, j) lives at ab[(kv + i − j) + j·ldab],
 * kv = kl + ku; the top kl rows hold the fill-in of the pivoting.
 */
export class BandMatrix {
  readonly ldab: number;
  readonly kv: number;
  readonly ab: Float64Array;
  readonly ipiv: Int32Array;

  constructor(
    readonly n: number,
    readonly kl: number,
    readonly ku: number,
  ) {
    this.kv = kl + ku;
    this.ldab = 2 * kl + ku + 1;
    this.ab = new Float64Array(this.ldab * n);
    this.ipiv = new Int32Array(n);
  }

  zero(): void {
    this.ab.fill(0);
  }

  /** index of A(i, j) in ab (i within the band of column j) */
  idx(i: number, j: number): number {
    return this.kv + i - j + j * this.ldab;
  }

  add(i: number, j: number, v: number): void {
    this.ab[this.kv + i - j + j * this.ldab] += v;
  }

  /**
   * Factorise in place. Returns −1 on success, else the first column whose
   * pivot is zero (the matrix is singular).
   */
  factor(): number {
    const { n, kl, ku, kv, ldab, ab, ipiv } = this;
    let ju = 0;
    for (let j = 0; j < n; j++) {
      const km = Math.min(kl, n - 1 - j);
      const cj = j * ldab + kv; // ab index of A(j, j)
      let jp = 0;
      let amax = Math.abs(ab[cj]);
      for (let t = 1; t <= km; t++) {
        const a = Math.abs(ab[cj + t]);
        if (a > amax) {
          amax = a;
          jp = t;
        }
      }
      ipiv[j] = j + jp;
      if (amax === 0 || !Number.isFinite(amax)) return j;
      ju = Math.max(ju, Math.min(j + ku + jp, n - 1));
      if (jp !== 0) {
        // swap rows j and j+jp in columns j..ju
        for (let c = j; c <= ju; c++) {
          const base = c * ldab + kv - c;
          const a = base + j;
          const b = base + j + jp;
          const tmp = ab[a];
          ab[a] = ab[b];
          ab[b] = tmp;
        }
      }
      if (km > 0) {
        const inv = 1 / ab[cj];
        for (let t = 1; t <= km; t++) ab[cj + t] *= inv;
        for (let c = j + 1; c <= ju; c++) {
          const base = c * ldab + kv - c;
          const a = ab[base + j];
          if (a !== 0) {
            for (let t = 1; t <= km; t++) ab[base + j + t] -= ab[cj + t] * a;
          }
        }
      }
    }
    return -1;
  }

  /** Solve A x = b in place (after factor()). */
  solve(b: Float64Array): void {
    const { n, kl, kv, ldab, ab, ipiv } = this;
    for (let j = 0; j < n - 1; j++) {
      const km = Math.min(kl, n - 1 - j);
      const l = ipiv[j];
      if (l !== j) {
        const tmp = b[l];
        b[l] = b[j];
        b[j] = tmp;
      }
      const bj = b[j];
      if (bj !== 0) {
        const cj = j * ldab + kv;
        for (let t = 1; t <= km; t++) b[j + t] -= ab[cj + t] * bj;
      }
    }
    for (let j = n - 1; j >= 0; j--) {
      const cj = j * ldab + kv;
      const xj = (b[j] /= ab[cj]);
      if (xj !== 0) {
        const lm = Math.min(kv, j);
        for (let t = 1; t <= lm; t++) b[j - t] -= ab[cj - t] * xj;
      }
    }
  }
}
