/**
 * Small dense linear algebra on number[][] (platform-neutral): least squares
 * by Householder QR, Cholesky, the inverse of a symmetric positive definite
 * matrix. Used by the fit's quadratic model and optimiser (src/fit) and by
 * the fit figures (src/plot/fit.ts: the Δχ² = 1 ellipse).
 */

/**
 * Least squares: minimise Σ_i w_i (X_i · β − y_i)² by Householder QR.
 * Returns β, or undefined when X is rank deficient.
 */
export function leastSquares(X: number[][], y: number[], w?: number[]): number[] | undefined {
  const m = X.length;
  const n = X[0]?.length ?? 0;
  if (m < n || n === 0) return undefined;
  const R = X.map((row, i) => row.map((v) => v * Math.sqrt(w ? w[i] : 1)));
  const b = y.map((v, i) => v * Math.sqrt(w ? w[i] : 1));
  let scale = 0;
  for (const row of R) for (const v of row) scale = Math.max(scale, Math.abs(v));
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = k; i < m; i++) norm += R[i][k] * R[i][k];
    norm = Math.sqrt(norm);
    if (!(norm > 1e-12 * scale)) return undefined;
    const alpha = R[k][k] > 0 ? -norm : norm;
    const v = new Array<number>(m).fill(0);
    for (let i = k; i < m; i++) v[i] = R[i][k];
    v[k] -= alpha;
    let vv = 0;
    for (let i = k; i < m; i++) vv += v[i] * v[i];
    if (vv === 0) continue;
    for (let j = k; j < n; j++) {
      let s = 0;
      for (let i = k; i < m; i++) s += v[i] * R[i][j];
      const f = (2 * s) / vv;
      for (let i = k; i < m; i++) R[i][j] -= f * v[i];
    }
    let s = 0;
    for (let i = k; i < m; i++) s += v[i] * b[i];
    const f = (2 * s) / vv;
    for (let i = k; i < m; i++) b[i] -= f * v[i];
  }
  const beta = new Array<number>(n).fill(0);
  for (let k = n - 1; k >= 0; k--) {
    let s = b[k];
    for (let j = k + 1; j < n; j++) s -= R[k][j] * beta[j];
    if (!(Math.abs(R[k][k]) > 1e-12 * scale)) return undefined;
    beta[k] = s / R[k][k];
  }
  return beta;
}

/** Cholesky factor L (A = L Lᵀ) of a symmetric matrix, or undefined when A is not positive definite. */
export function cholesky(A: number[][]): number[][] | undefined {
  const n = A.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = A[i][j];
      for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      if (i === j) {
        if (!(s > 0)) return undefined;
        L[i][i] = Math.sqrt(s);
      } else L[i][j] = s / L[j][j];
    }
  return L;
}

/** Inverse of a symmetric positive definite matrix (via Cholesky), or undefined. */
export function spdInverse(A: number[][]): number[][] | undefined {
  const L = cholesky(A);
  if (!L) return undefined;
  const n = A.length;
  const inv = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let c = 0; c < n; c++) {
    // solve L y = e_c, then Lᵀ x = y
    const y = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= L[i][k] * y[k];
      y[i] = s / L[i][i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < n; k++) s -= L[k][i] * inv[k][c];
      inv[i][c] = s / L[i][i];
    }
  }
  return inv;
}
