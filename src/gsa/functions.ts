/**
 * Test functions with known sensitivity indices, to check the estimators
 * and their intervals before trusting them on the model (`cait gsa
 * --function …`):
 *
 * - Ishigami (Ishigami & Homma 1990): f = sin x1 + a sin² x2 + b x3⁴ sin x1,
 *   x_i uniform on [−π, π]; a = 7, b = 0.1 by default. x3 acts only through
 *   its interaction with x1 (S1_3 = 0, ST_3 > 0).
 * - Sobol' G (Saltelli & Sobol' 1995): g = Π_i (|4 x_i − 2| + a_i) / (1 + a_i),
 *   x_i uniform on [0, 1]; the smaller a_i, the more important x_i
 *   (a_i = 0: very, a_i = 99: hardly at all).
 *
 * Analytic indices: Ishigami V1 = b π⁴/5 + b² π⁸/50 + 1/2, V2 = a²/8,
 * V13 = 8 b² π⁸/225, V = V1 + V2 + V13; Sobol' G V_i = 1 / (3 (1 + a_i)²),
 * V = Π (1 + V_i) − 1, S_i = V_i / V, ST_i = V_i Π_{j≠i} (1 + V_j) / V,
 * S_ij = V_i V_j / V. Platform-neutral.
 *
 * @example
 * const f = testFunction('ishigami');
 * f.evaluate([0.5, 1, -2]); // 7.02…
 * f.analytic.S1;            // [0.3139, 0.4424, 0]
 */
import { InputError } from '../core/errors.js';

export type TestFunctionName = 'ishigami' | 'sobol-g';
export const TEST_FUNCTIONS: readonly TestFunctionName[] = ['ishigami', 'sobol-g'];

/** The Sobol' G coefficients used when none are given (an important, a moderate and unimportant inputs). */
export const SOBOL_G_DEFAULT_A = [0, 1, 4.5, 9, 99, 99, 99, 99];

export interface AnalyticIndices {
  S1: number[];
  ST: number[];
  /** S2[i][j] for i < j (null on and below the diagonal) */
  S2: (number | null)[][];
}

export interface TestFunction {
  name: TestFunctionName;
  /** the function's constants ({a, b} for Ishigami, {a: [...]} for Sobol' G) */
  constants: Record<string, number | number[]>;
  /** the inputs: name and uniform range */
  inputs: { name: string; lo: number; hi: number }[];
  evaluate(x: ArrayLike<number>): number;
  analytic: AnalyticIndices;
}

function upper(k: number, f: (i: number, j: number) => number): (number | null)[][] {
  return Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (j > i ? f(i, j) : null)));
}

/** The Ishigami function with constants a, b. */
export function ishigami(a = 7, b = 0.1): TestFunction {
  const pi4 = Math.PI ** 4;
  const pi8 = Math.PI ** 8;
  const V1 = (b * pi4) / 5 + (b * b * pi8) / 50 + 0.5;
  const V2 = (a * a) / 8;
  const V13 = (8 * b * b * pi8) / 225;
  const V = V1 + V2 + V13;
  return {
    name: 'ishigami',
    constants: { a, b },
    inputs: [1, 2, 3].map((i) => ({ name: `x${i}`, lo: -Math.PI, hi: Math.PI })),
    evaluate: (x) => Math.sin(x[0]) + a * Math.sin(x[1]) ** 2 + b * x[2] ** 4 * Math.sin(x[0]),
    analytic: {
      S1: [V1 / V, V2 / V, 0],
      ST: [(V1 + V13) / V, V2 / V, V13 / V],
      S2: upper(3, (i, j) => (i === 0 && j === 2 ? V13 / V : 0)),
    },
  };
}

/** The Sobol' G function with coefficients a (one input per coefficient, each ≥ 0). */
export function sobolG(a: readonly number[] = SOBOL_G_DEFAULT_A): TestFunction {
  if (a.length < 1) throw new InputError('sobol-g: give at least one coefficient a_i');
  a.forEach((ai, i) => {
    if (!(Number.isFinite(ai) && ai >= 0)) throw new InputError(`sobol-g: a_${i + 1} = ${ai}; the coefficients must be numbers >= 0`);
  });
  const Vi = a.map((ai) => 1 / (3 * (1 + ai) ** 2));
  const prod = Vi.reduce((p, v) => p * (1 + v), 1);
  const V = prod - 1;
  return {
    name: 'sobol-g',
    constants: { a: [...a] },
    inputs: a.map((_, i) => ({ name: `x${i + 1}`, lo: 0, hi: 1 })),
    evaluate: (x) => {
      let g = 1;
      for (let i = 0; i < a.length; i++) g *= (Math.abs(4 * x[i] - 2) + a[i]) / (1 + a[i]);
      return g;
    },
    analytic: {
      S1: Vi.map((v) => v / V),
      ST: Vi.map((v) => (v * (prod / (1 + v))) / V),
      S2: upper(a.length, (i, j) => (Vi[i] * Vi[j]) / V),
    },
  };
}

/** A test function by name; `a` gives Sobol' G's coefficients. */
export function testFunction(name: string, opts: { a?: readonly number[] } = {}): TestFunction {
  if (name === 'ishigami') {
    if (opts.a !== undefined) throw new InputError('--g-a: only used with --function sobol-g');
    return ishigami();
  }
  if (name === 'sobol-g') return sobolG(opts.a ?? SOBOL_G_DEFAULT_A);
  throw new InputError(`--function ${name}: unknown test function (known: ${TEST_FUNCTIONS.join(', ')})`);
}
