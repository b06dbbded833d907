/**
 * Special functions used by the model, in double precision.
 */

// P. J. Acklam's rational approximation of the inverse standard normal CDF
// (relative error < 1.15e-9 over (0,1)); accurate enough for D(θ):
// an error δ in Φ⁻¹ changes D by a factor exp(σ δ / kT), ~1e-8 here.
const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const Dd = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

/** Φ⁻¹(p), the inverse of the standard normal CDF. Φ⁻¹(0) = -∞, Φ⁻¹(1) = +∞. */
export function normInv(p: number): number {
  if (!(p >= 0 && p <= 1)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((Dd[0] * q + Dd[1]) * q + Dd[2]) * q + Dd[3]) * q + 1);
  }
  if (p <= 1 - P_LOW) {
    const q = p - 0.5;
    const r = q * q;
    return ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
  }
  const q = Math.sqrt(-2 * Math.log(1 - p));
  return -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((Dd[0] * q + Dd[1]) * q + Dd[2]) * q + Dd[3]) * q + 1);
}

/** Standard normal density φ(x). */
export function normPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/**
 * Bernoulli function B(x) = x / (eˣ − 1) of the Scharfetter–Gummel flux,
 * with B(0) = 1; series near 0, no overflow for large |x|.
 */
export function bernoulli(x: number): number {
  const ax = Math.abs(x);
  if (ax < 1e-3) return 1 - x / 2 + (x * x) / 12 - (x * x * x * x) / 720;
  if (x > 700) return x * Math.exp(-x);
  return x / Math.expm1(x);
}

/** dB/dx given b = B(x) (saves the exponential); B'(−x) = −1 − B'(x). */
export function bernoulliDerivFrom(x: number, b: number): number {
  if (Math.abs(x) < 1e-3) return -0.5 + x / 6 - (x * x * x) / 180;
  return (b * (1 - b)) / x - b;
}

/** dB/dx. */
export function bernoulliDeriv(x: number): number {
  const ax = Math.abs(x);
  if (ax < 1e-3) return -0.5 + x / 6 - (x * x * x) / 180;
  const b = bernoulli(x);
  // B' = B (1 − B)/x − B
  return (b * (1 - b)) / x - b;
}

/**
 * erfc(x) to ~1e-14 relative: for |x| ≤ 2 from erf's all-positive series
 * erf(x) = (2/√π) e^{−x²} Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1)); beyond, Laplace's
 * continued fraction (modified Lentz).
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x <= 2) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return 1 - ((2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum);
  }
  if (x > 27) return 0;
  return Math.exp(-x * x) * erfcxCf(x);
}

/** e^{x²} erfc(x) for x > 2: Laplace's continued fraction 1/(√π (x + (1/2)/(x + 1/(x + (3/2)/(x + …))))) (modified Lentz). */
function erfcxCf(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    D = x + a * D;
    if (Math.abs(D) < tiny) D = tiny;
    C = x + a / C;
    if (Math.abs(C) < tiny) C = tiny;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / (Math.sqrt(Math.PI) * f);
}

/** The scaled complementary error function e^{x²} erfc(x), finite for large x (≈ 1/(x√π)). */
export function erfcx(x: number): number {
  if (Number.isNaN(x)) return NaN;
  return x <= 2 ? Math.exp(x * x) * erfc(x) : erfcxCf(x);
}

/** Standard normal CDF Φ(x). */
export function normCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}
