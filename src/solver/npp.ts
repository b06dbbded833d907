/**
 * The discrete Nernst–Planck–Poisson system of one stage, f64 (docs/model.md §2–3; docs/numerics.md §2–3).
 *
 * Finite volumes on the cells of `Grid`; Scharfetter–Gummel fluxes with a
 * face average of the concentration-dependent D; full Poisson. Scaled
 * variables: x in nm, t in s, n in units of n0, ψ = eφ/kT, D in nm²/s.
 *
 * Unknowns are interleaved per cell: y[i·m + s] = n_s (s < S active species),
 * y[i·m + S] = ψ_i, m = S + 1. Rows: for each species, the continuity
 * equation times the cell width; for ψ, Poisson divided by the cell width.
 *
 * Boundaries:
 *  - front face (x = 0): the beam species enters from a reservoir of density
 *    c_res at ψ_U through the same SG formula as an interior face (distance
 *    x_0, face D the average of D(c_res) and D(n_0)); other species: no flux.
 *    Poisson: `clamped` ψ(0) = ψ_U; `aperture` the surface potential floats
 *    behind a vacuum gap g to a grounded aperture (ψ = 0 at distance
 *    x_0 + εr·g, the gap's field continuous with the glass's).
 *  - back face (x = L): ψ = 0; every species leaves by drift only,
 *    J = D n max(0, z ψ_{N−1} / d_N); nothing enters.
 */
import type { Front, Protocol, Stage } from '../config/schema.js';
import { EPSILON_0, ELEMENTARY_CHARGE, M2_TO_NM2, kT_eV } from '../physics/constants.js';
import { makeDiffusivity, type Diffusivity } from '../physics/diffusion.js';
import { bernoulli, bernoulliDerivFrom } from '../physics/special.js';
import type { BandMatrix } from './banded.js';
import type { Grid } from './grid.js';


export type FaceAverage = 'arithmetic' | 'harmonic' | 'geometric';

/** Face D from the two cell values, with ∂/∂D_L and ∂/∂D_R. */
export function faceD(kind: FaceAverage, DL: number, DR: number, out: Float64Array): void {
  switch (kind) {
    case 'arithmetic':
      out[0] = 0.5 * (DL + DR);
      out[1] = 0.5;
      out[2] = 0.5;
      return;
    case 'harmonic': {
      const s = DL + DR;
      if (s <= 0) {
        out[0] = out[1] = out[2] = 0;
        return;
      }
      out[0] = (2 * DL * DR) / s;
      out[1] = (2 * DR * DR) / (s * s);
      out[2] = (2 * DL * DL) / (s * s);
      return;
    }
    case 'geometric': {
      const g = Math.sqrt(DL * DR);
      out[0] = g;
      out[1] = DL > 0 ? g / (2 * DL) : 0;
      out[2] = DR > 0 ? g / (2 * DR) : 0;
      return;
    }
  }
}

/**
 * Scharfetter–Gummel flux of one species across a face (positive towards the
 * back), J = (D_f/d) [B(Δ) n_L − B(−Δ) n_R], Δ = z (ψ_R − ψ_L), with its
 * derivatives for the Newton Jacobian. D_f is the face average of D_L and
 * D_R (`faceD`); dDL, dDR are dD/dn of the two cells (0 for a fixed side).
 * out = [J, ∂J/∂n_L, ∂J/∂n_R, ∂J/∂ψ_R] (∂J/∂ψ_L = −∂J/∂ψ_R).
 */
export function sgFlux(
  kind: FaceAverage,
  DL: number,
  DR: number,
  dDL: number,
  dDR: number,
  nL: number,
  nR: number,
  z: number,
  dpsi: number,
  invd: number,
  avg: Float64Array,
  out: Float64Array,
): void {
  faceD(kind, DL, DR, avg);
  const Df = avg[0];
  const Delta = z * dpsi;
  const bP = bernoulli(Delta);
  const bM = bP + Delta; // B(−Δ) = B(Δ) + Δ
  const g = bP * nL - bM * nR;
  out[0] = Df * g * invd;
  out[1] = (Df * bP + avg[1] * dDL * g) * invd;
  out[2] = (-Df * bM + avg[2] * dDR * g) * invd;
  // B'(−Δ) = −1 − B'(Δ)
  const dbP = bernoulliDerivFrom(Delta, bP);
  out[3] = z * Df * (nL * dbP - nR * (1 + dbP)) * invd;
}

/**
 * The quasi-neutral Newton system in block-tridiagonal form (`assembleBlocksFrom`): blocks A_i (coupling
 * to cell i − 1), B_i, C_i (to cell i + 1), m × m row-major at i·m²; the residual with telescoped current
 * rows; the front current I and its gradient gF with respect to cell 0's unknowns.
 */
export interface NewtonBlocks {
  A: Float64Array;
  B: Float64Array;
  C: Float64Array;
  res: Float64Array;
  gF: Float64Array;
  I: number;
}

/** Work arrays of a {@link NewtonBlocks} for N cells of m unknowns. */
export function newtonBlocks(N: number, m: number): NewtonBlocks {
  const b = () => new Float64Array(N * m * m);
  return { A: b(), B: b(), C: b(), res: new Float64Array(N * m), gF: new Float64Array(m), I: 0 };
}

/** Boundary fluxes of a state (n0·nm/s per species, positive = towards the back). */
export interface BoundaryFluxes {
  front: Float64Array;
  back: Float64Array;
}

export class StageSystem {
  readonly N: number;
  /** active species (those with a D model in the stage) */
  readonly S: number;
  /** species that are unknowns of the system (all S with Poisson; all but the closing one when quasi-neutral) */
  readonly U: number;
  /** unknowns per cell: U densities and ψ */
  readonly m: number;
  readonly formulation: 'poisson' | 'quasineutral';
  /** active index of each unknown species */
  readonly unknown: number[];
  /** unknown index of each active species (−1 for the closing one) */
  readonly uOf: Int32Array;
  /** quasi-neutral: active index of the species given by Σ z n = 1 (−1 with Poisson) */
  readonly closing: number;
  /** band widths of the Newton matrix */
  readonly kl: number;
  readonly ku: number;
  /** indices of the active species in the protocol's species list */
  readonly active: number[];
  readonly names: string[];
  readonly z: Float64Array;
  readonly diff: Diffusivity[];
  /** per species, per cell reference density of θ */
  readonly nref: Float64Array[];
  readonly beam: number;
  readonly psiU: number;
  readonly lambda2: number;
  readonly kT: number;
  readonly cRes: number;
  readonly Dres: number;
  /** front Poisson: Dirichlet value and distance */
  readonly psiFront: number;
  readonly dFront: number;
  readonly faceAvg: FaceAverage;
  // work arrays
  private readonly Dc: Float64Array;
  private readonly dDc: Float64Array;
  /** densities of all active species, cell-major (N × S) */
  readonly nAll: Float64Array;
  private readonly tmp2 = new Float64Array(2);
  private readonly tmp3 = new Float64Array(3);
  private readonly flux = new Float64Array(4);
  private readonly sink = new Float64Array(1);
  /**
   * Face fluxes of the quasi-neutral rows and of `rates`, (N + 1) faces × S species × 4 at
   * (k·S + s)·4: J, ∂J/∂n_L, ∂J/∂n_R, ∂J/∂ψ (of ψ_R at the front and interior faces, ∂J/∂ψ_L = −∂J/∂ψ_R;
   * of ψ_L at the back face). Written by `faceFluxes` (f64, SG) or by another provider (the gpu.js
   * engine's kernel, src/gpujs/stage.ts); read by `ratesFrom` and `assembleQNFrom`. Only the entries
   * those read are meaningful: the front face of the beam; the back face where the drive z ψ_{N−1}/d_N
   * is positive; the interior faces of the closing species only for the Newton system.
   */
  readonly faceFlux: Float64Array;

  constructor(
    readonly grid: Grid,
    protocol: Protocol,
    readonly stage: Stage,
    speciesNames: string[],
    /** densities at the stage start, per protocol species */
    start: Float64Array[],
  ) {
    this.N = grid.N;
    this.active = speciesNames.map((_, k) => k).filter((k) => speciesNames[k] in stage.D);
    this.names = this.active.map((k) => speciesNames[k]);
    this.S = this.active.length;
    this.z = Float64Array.from(this.names, (nm) => protocol.species[nm].z);
    this.formulation = protocol.solver.formulation;
    this.beam = this.names.indexOf(stage.beam);
    if (this.beam < 0) throw new Error(`beam species ${stage.beam} has no D model`);
    if (this.formulation === 'quasineutral') {
      // close with the species of largest inventory at the start that is not the beam (the native one)
      let best = -1;
      let bestInv = -1;
      this.active.forEach((k, s) => {
        if (s === this.beam && this.S > 1) return;
        let inv = 0;
        for (let i = 0; i < this.N; i++) inv += start[k][i] * grid.h[i];
        if (inv > bestInv) {
          bestInv = inv;
          best = s;
        }
      });
      this.closing = best;
    } else this.closing = -1;
    this.unknown = this.active.map((_, s) => s).filter((s) => s !== this.closing);
    this.U = this.unknown.length;
    this.m = this.U + 1;
    this.uOf = new Int32Array(this.S).fill(-1);
    this.unknown.forEach((s, u) => (this.uOf[s] = u));
    this.kl = this.formulation === 'poisson' ? this.m : 2 * this.m - 1;
    this.ku = 2 * this.m - 1;
    this.nAll = new Float64Array(this.N * this.S);
    this.kT = kT_eV(stage.T_K);
    this.diff = this.names.map((nm) => makeDiffusivity(stage.D[nm], stage.T_K));
    this.nref = this.active.map((k, s) => {
      const a = new Float64Array(this.N);
      // θ relative to what was there at the stage start; where (almost) nothing was, relative to the floor
      const floor = this.diff[s].nrefFloor;
      if (this.diff[s].nref === 'stageStart') for (let i = 0; i < this.N; i++) a[i] = Math.max(start[k][i], floor);
      else a.fill(1);
      return a;
    });
    this.psiU = stage.U_V / this.kT;
    const { sample } = protocol;
    // Debye length² in nm²: εr ε0 kT / (e² n0)
    this.lambda2 = ((sample.epsr * EPSILON_0 * this.kT) / (ELEMENTARY_CHARGE * sample.n0_m3)) * M2_TO_NM2;
    const front: Front = protocol.front;
    this.cRes = front.c_res;
    this.Dres = this.diff[this.beam].D(this.cRes / this.nref[this.beam][0]) * M2_TO_NM2;
    if (front.type === 'clamped') {
      this.psiFront = this.psiU;
      this.dFront = grid.d[0];
    } else {
      this.psiFront = 0;
      this.dFront = grid.d[0] + sample.epsr * front.gap_m * 1e9;
    }
    this.faceAvg = protocol.solver.face_D;
    this.Dc = new Float64Array(this.N * this.S);
    this.dDc = new Float64Array(this.N * this.S);
    this.faceFlux = new Float64Array((this.N + 1) * this.S * 4);
  }

  /** Pack the protocol-species densities (and ψ) into an unknown vector. */
  pack(dens: Float64Array[], psi: Float64Array, y: Float64Array): void {
    const { N, U, m, active, unknown } = this;
    for (let i = 0; i < N; i++) {
      for (let u = 0; u < U; u++) y[i * m + u] = dens[active[unknown[u]]][i];
      y[i * m + U] = psi[i];
    }
  }

  /** Densities of all active species from y into nAll (the closing species from Σ z n = 1). */
  fill(y: Float64Array): Float64Array {
    const { N, S, U, m, unknown, closing, z, nAll } = this;
    for (let i = 0; i < N; i++) {
      let q = 1;
      for (let u = 0; u < U; u++) {
        const s = unknown[u];
        const v = y[i * m + u];
        nAll[i * S + s] = v;
        q -= z[s] * v;
      }
      if (closing >= 0) nAll[i * S + closing] = q / z[closing];
    }
    return nAll;
  }

  unpack(y: Float64Array, dens: Float64Array[], psi: Float64Array): void {
    const { N, S, U, m, active } = this;
    const nAll = this.fill(y);
    for (let i = 0; i < N; i++) {
      for (let s = 0; s < S; s++) dens[active[s]][i] = nAll[i * S + s];
      psi[i] = y[i * m + U];
    }
  }

  /** ∫ n dx of active species s (n0·nm). */
  inventory(y: Float64Array, s: number): number {
    const nAll = this.fill(y);
    const h = this.grid.h;
    let v = 0;
    for (let i = 0; i < this.N; i++) v += h[i] * nAll[i * this.S + s];
    return v;
  }

  /** Evaluate D and dD/dn of every species in every cell (nm²/s). */
  private evalD(y: Float64Array): void {
    const { N, S, Dc, dDc, tmp2 } = this;
    const nAll = this.fill(y);
    for (let s = 0; s < S; s++) {
      const dm = this.diff[s];
      const nr = this.nref[s];
      if (dm.constant) {
        const D = dm.D1 * M2_TO_NM2;
        for (let i = 0; i < N; i++) {
          Dc[i * S + s] = D;
          dDc[i * S + s] = 0;
        }
        continue;
      }
      for (let i = 0; i < N; i++) {
        dm.eval(nAll[i * S + s] / nr[i], tmp2);
        Dc[i * S + s] = tmp2[0] * M2_TO_NM2;
        dDc[i * S + s] = (tmp2[1] * M2_TO_NM2) / nr[i];
      }
    }
  }

  /**
   * The Scharfetter–Gummel face fluxes at y into `faceFlux` (f64). With `jac` false (for `rates`) the
   * interior faces of the closing species are skipped.
   */
  faceFluxes(y: Float64Array, jac: boolean): void {
    const { N, S, U, m, Dc, dDc, z, tmp3, uOf } = this;
    const d = this.grid.d;
    const ff = this.faceFlux;
    const F = this.flux;
    this.evalD(y);
    const n = this.nAll;
    // front face: beam from the reservoir (the reservoir side is fixed)
    {
      const s = this.beam;
      sgFlux(this.faceAvg, this.Dres, Dc[s], 0, dDc[s], this.cRes, n[s], z[s], y[U] - this.psiU, 1 / d[0], tmp3, F);
      const e = s * 4;
      ff[e] = F[0];
      ff[e + 1] = F[1];
      ff[e + 2] = F[2];
      ff[e + 3] = F[3];
    }
    for (let k = 1; k < N; k++) {
      const L = k - 1;
      const R = k;
      const dpsi = y[R * m + U] - y[L * m + U];
      const invd = 1 / d[k];
      for (let s = 0; s < S; s++) {
        if (!jac && uOf[s] < 0) continue;
        sgFlux(this.faceAvg, Dc[L * S + s], Dc[R * S + s], dDc[L * S + s], dDc[R * S + s], n[L * S + s], n[R * S + s], z[s], dpsi, invd, tmp3, F);
        const e = (k * S + s) * 4;
        ff[e] = F[0];
        ff[e + 1] = F[1];
        ff[e + 2] = F[2];
        ff[e + 3] = F[3];
      }
    }
    // back face: drift out
    {
      const L = N - 1;
      const psiL = y[L * m + U];
      for (let s = 0; s < S; s++) {
        const drive = (z[s] * psiL) / d[N];
        if (drive <= 0) continue;
        const D = Dc[L * S + s];
        const nL = n[L * S + s];
        const e = (N * S + s) * 4;
        ff[e] = D * nL * drive;
        ff[e + 1] = D * drive + dDc[L * S + s] * nL * drive;
        ff[e + 2] = 0;
        ff[e + 3] = (D * nL * z[s]) / d[N];
      }
    }
  }

  /**
   * Time derivative of the unknown densities, f = −(J_{i+½} − J_{i−½}) / h_i,
   * into `f` (same layout as y; ψ entries set to 0), and the boundary fluxes
   * of every active species.
   */
  rates(y: Float64Array, f: Float64Array, bf: BoundaryFluxes): void {
    this.faceFluxes(y, false);
    this.ratesFrom(y, f, bf);
  }

  /** `rates` from the face fluxes in `faceFlux` (at y). */
  ratesFrom(y: Float64Array, f: Float64Array, bf: BoundaryFluxes): void {
    const { N, S, U, m, z, uOf } = this;
    const { h, d } = this.grid;
    const ff = this.faceFlux;
    f.fill(0);
    for (let s = 0; s < S; s++) {
      bf.front[s] = 0;
      bf.back[s] = 0;
    }
    {
      const s = this.beam;
      const J = ff[s * 4];
      bf.front[s] = J;
      if (uOf[s] >= 0) f[uOf[s]] += J / h[0];
    }
    for (let k = 1; k < N; k++) {
      const L = k - 1;
      const R = k;
      for (let s = 0; s < S; s++) {
        const u = uOf[s];
        if (u < 0) continue;
        const J = ff[(k * S + s) * 4];
        f[L * m + u] -= J / h[L];
        f[R * m + u] += J / h[R];
      }
    }
    {
      const L = N - 1;
      const psiL = y[L * m + U];
      for (let s = 0; s < S; s++) {
        const drive = (z[s] * psiL) / d[N];
        const J = drive > 0 ? ff[(N * S + s) * 4] : 0;
        bf.back[s] = J;
        if (uOf[s] >= 0) f[L * m + uOf[s]] -= J / h[L];
      }
    }
  }

  /**
   * Newton system of one implicit stage  y − rhs − c·Δt·f(y) = 0  (rows scaled
   * by the cell width) together with Poisson. Fills the residual `res` and,
   * when `A` is given, the banded Jacobian.
   */
  assemble(y: Float64Array, rhs: Float64Array, cdt: number, A: BandMatrix | null, res: Float64Array): void {
    if (this.formulation === 'quasineutral') {
      this.faceFluxes(y, true);
      this.assembleQNFrom(y, rhs, cdt, A, res);
    } else this.assemblePoisson(y, rhs, cdt, A, res);
  }

  /** Full Poisson: unknowns are all S densities and ψ (U = S). */
  private assemblePoisson(y: Float64Array, rhs: Float64Array, cdt: number, A: BandMatrix | null, res: Float64Array): void {
    const { N, S, m, Dc, dDc, z, tmp3, lambda2 } = this;
    const { h, d } = this.grid;
    const jac = A !== null;
    // without a Jacobian (residual only) every write into `ab` is skipped
    const ab = jac ? A.ab : this.sink;
    const ldab = jac ? A.ldab : 0;
    const kv = jac ? A.kv : 0;
    this.evalD(y);
    if (jac) A.zero();
    // A(i, j) lives at kv + i − j + j·ldab = kv + i + j·(ldab − 1)
    const l1 = ldab - 1;
    // continuity: h_i (y − rhs)
    for (let i = 0; i < N; i++) {
      for (let s = 0; s < S; s++) {
        const r = i * m + s;
        res[r] = h[i] * (y[r] - rhs[r]);
        if (jac) ab[kv + r + (r) * l1] += h[i];
      }
    }
    // front face, beam species: row 0, −cdt·J (the reservoir side is fixed)
    {
      const s = this.beam;
      const r = s;
      const F = this.flux;
      sgFlux(this.faceAvg, this.Dres, Dc[s], 0, dDc[s], this.cRes, y[s], z[s], y[S] - this.psiU, 1 / d[0], tmp3, F);
      res[r] -= cdt * F[0];
      if (jac) ab[kv + r + r * l1] -= cdt * F[2];
      if (jac) ab[kv + r + S * l1] -= cdt * F[3];
    }
    // interior faces
    const F = this.flux;
    for (let k = 1; k < N; k++) {
      const L = k - 1;
      const R = k;
      const pL = L * m + S;
      const pR = R * m + S;
      const dpsi = y[pR] - y[pL];
      const invd = 1 / d[k];
      for (let s = 0; s < S; s++) {
        const rL = L * m + s;
        const rR = R * m + s;
        sgFlux(this.faceAvg, Dc[L * S + s], Dc[R * S + s], dDc[L * S + s], dDc[R * S + s], y[rL], y[rR], z[s], dpsi, invd, tmp3, F);
        const cJ = cdt * F[0];
        // row L: + cdt J ; row R: − cdt J
        res[rL] += cJ;
        res[rR] -= cJ;
        if (!jac) continue;
        const dJdnL = cdt * F[1];
        const dJdnR = cdt * F[2];
        const dJdpR = cdt * F[3];
        ab[kv + rL + rL * l1] += dJdnL;
        ab[kv + rL + rR * l1] += dJdnR;
        ab[kv + rL + pR * l1] += dJdpR;
        ab[kv + rL + pL * l1] -= dJdpR;
        ab[kv + rR + rL * l1] -= dJdnL;
        ab[kv + rR + rR * l1] -= dJdnR;
        ab[kv + rR + pR * l1] -= dJdpR;
        ab[kv + rR + pL * l1] += dJdpR;
      }
    }
    // back face: drift out
    {
      const L = N - 1;
      const pL = L * m + S;
      const psiL = y[pL];
      for (let s = 0; s < S; s++) {
        const rL = L * m + s;
        const drive = (z[s] * psiL) / d[N];
        if (drive <= 0) continue;
        const D = Dc[L * S + s];
        const J = D * y[rL] * drive;
        res[rL] += cdt * J;
        if (jac) ab[kv + rL + (rL) * l1] += cdt * (D * drive + dDc[L * S + s] * y[rL] * drive);
        if (jac) ab[kv + rL + (pL) * l1] += cdt * ((D * y[rL] * z[s]) / d[N]);
      }
    }
    // Poisson: (λ²/h_i)[(ψ_{i+1}−ψ_i)/d_{i+1} − (ψ_i−ψ_{i−1})/d_i] + Σ z n − 1
    for (let i = 0; i < N; i++) {
      const p = i * m + S;
      const cw = lambda2 / h[i];
      const dl = i === 0 ? this.dFront : d[i];
      const psiLft = i === 0 ? this.psiFront : y[p - m];
      const psiRgt = i === N - 1 ? 0 : y[p + m];
      const aL = cw / dl;
      const aR = cw / d[i + 1];
      let r = aR * (psiRgt - y[p]) - aL * (y[p] - psiLft) - 1;
      for (let s = 0; s < S; s++) {
        r += z[s] * y[i * m + s];
        if (jac) ab[kv + p + (i * m + s) * l1] += z[s];
      }
      res[p] = r;
      if (jac) ab[kv + p + (p) * l1] -= aL + aR;
      if (jac && i > 0) ab[kv + p + (p - m) * l1] += aL;
      if (jac && i < N - 1) ab[kv + p + (p + m) * l1] += aR;
    }
  }

  /**
   * Quasi-neutral limit: the unknowns are the U = S − 1 free densities and ψ;
   * the closing species is (1 − Σ z n)/z_c; the ψ row of cell i is current
   * continuity, Σ_s z_s (J_s,i+½ − J_s,i−½) = 0 (not scaled by Δt: with
   * cdt = 0 it alone determines ψ for given densities). Assembled from the
   * face fluxes in `faceFlux` (at y): `assemble` computes them first.
   */
  assembleQNFrom(y: Float64Array, rhs: Float64Array, cdt: number, A: BandMatrix | null, res: Float64Array): void {
    const { N, S, U, m, z, uOf, unknown, closing } = this;
    const { h, d } = this.grid;
    const jac = A !== null;
    const ab = jac ? A.ab : this.sink;
    const kv = jac ? A.kv : 0;
    const l1 = jac ? A.ldab - 1 : 0;
    const ff = this.faceFlux;
    if (jac) A.zero();
    const zc = closing >= 0 ? z[closing] : 1;
    for (let i = 0; i < N; i++) {
      for (let u = 0; u < U; u++) {
        const r = i * m + u;
        res[r] = h[i] * (y[r] - rhs[r]);
        if (jac) ab[kv + r + r * l1] += h[i];
      }
      res[i * m + U] = 0;
    }
    /**
     * Adds the flux J of species s across a face to the rows of cell L (+) and
     * cell R (−), with its derivatives with respect to n_s,L, n_s,R (chained
     * through Σ z n = 1 for the closing species) and ψ_L, ψ_R. L or R < 0:
     * that side is a boundary (no row, no unknowns).
     */
    const scatter = (s: number, L: number, R: number, J: number, dnL: number, dnR: number, dpL: number, dpR: number) => {
      const u = uOf[s];
      const zs = z[s];
      for (const [cell, sign] of [
        [L, 1],
        [R, -1],
      ] as const) {
        if (cell < 0) continue;
        const pRow = cell * m + U;
        // current continuity: + z J
        res[pRow] += sign * zs * J;
        if (u >= 0) res[cell * m + u] += sign * cdt * J;
        if (!jac) continue;
        const add = (row: number, scale: number) => {
          if (L >= 0) {
            ab[kv + row + (L * m + U) * l1] += scale * dpL;
            if (u >= 0) ab[kv + row + (L * m + u) * l1] += scale * dnL;
            else for (let f = 0; f < U; f++) ab[kv + row + (L * m + f) * l1] -= (scale * dnL * z[unknown[f]]) / zc;
          }
          if (R >= 0) {
            ab[kv + row + (R * m + U) * l1] += scale * dpR;
            if (u >= 0) ab[kv + row + (R * m + u) * l1] += scale * dnR;
            else for (let f = 0; f < U; f++) ab[kv + row + (R * m + f) * l1] -= (scale * dnR * z[unknown[f]]) / zc;
          }
        };
        add(pRow, sign * zs);
        if (u >= 0) add(cell * m + u, sign * cdt);
      }
    };
    // front face: the beam from the reservoir at ψ_U into cell 0 (the reservoir side is fixed)
    {
      const s = this.beam;
      const e = s * 4;
      scatter(s, -1, 0, ff[e], 0, ff[e + 2], 0, ff[e + 3]);
    }
    for (let k = 1; k < N; k++) {
      for (let s = 0; s < S; s++) {
        const e = (k * S + s) * 4;
        scatter(s, k - 1, k, ff[e], ff[e + 1], ff[e + 2], -ff[e + 3], ff[e + 3]);
      }
    }
    // back face: drift out
    {
      const L = N - 1;
      const psiL = y[L * m + U];
      for (let s = 0; s < S; s++) {
        const drive = (z[s] * psiL) / d[N];
        if (drive <= 0) continue;
        const e = (N * S + s) * 4;
        scatter(s, L, -1, ff[e], ff[e + 1], 0, ff[e + 3], 0);
      }
    }
  }

  /**
   * The quasi-neutral Newton system as bordered block-tridiagonal rows (docs/numerics.md §3), from the
   * face fluxes in `faceFlux` (at y): per cell i the U density rows as in `assembleQNFrom` and, instead of
   * its current-continuity row, the *telescoped* row Σ_s z_s J_s,i+½ − I (the current through the cell's
   * right face minus the front current I = Σ_s z_s J_s,front). The same equations (row i is the sum of the
   * continuity rows 0..i), but each ψ row couples only cells i and i+1, so the matrix is block tridiagonal
   * (blocks A_i, B_i, C_i of m × m, row-major) apart from the rank-one term −e·gFᵀ (e: 1 in every ψ row,
   * gF = ∂I/∂(cell 0)), which the solve handles by Sherman–Morrison. The twin of `assemble` in
   * shaders/npp_qn.wgsl.
   */
  assembleBlocksFrom(y: Float64Array, rhs: Float64Array, cdt: number, blk: NewtonBlocks): void {
    const { N, S, U, m, z, uOf, unknown, closing } = this;
    const { h, d } = this.grid;
    const { A, B, C, res, gF } = blk;
    const mm = m * m;
    const ff = this.faceFlux;
    A.fill(0);
    B.fill(0);
    C.fill(0);
    gF.fill(0);
    const zc = closing >= 0 ? z[closing] : 1;
    for (let i = 0; i < N; i++) {
      for (let u = 0; u < U; u++) {
        const r = i * m + u;
        res[r] = h[i] * (y[r] - rhs[r]);
        B[i * mm + u * m + u] += h[i];
      }
      res[i * m + U] = 0;
    }
    /** adds scale·(∂J/∂n, ∂J/∂ψ) of species s to row `row` of the block at M[off] (the closing species chained through Σ z n = 1) */
    const cols = (M: Float64Array, off: number, s: number, scale: number, dn: number, dp: number) => {
      const u = uOf[s];
      if (u >= 0) M[off + u] += scale * dn;
      else for (let f = 0; f < U; f++) M[off + f] -= (scale * dn * z[unknown[f]]) / zc;
      M[off + U] += scale * dp;
    };
    // front face: the beam from the reservoir into cell 0
    {
      const s = this.beam;
      const e = s * 4;
      const J = ff[e];
      blk.I = z[s] * J;
      cols(gF, 0, s, z[s], ff[e + 2], ff[e + 3]);
      const u = uOf[s];
      if (u >= 0) {
        res[u] -= cdt * J;
        cols(B, u * m, s, -cdt, ff[e + 2], ff[e + 3]);
      }
    }
    for (let k = 1; k < N; k++) {
      const L = k - 1;
      const R = k;
      for (let s = 0; s < S; s++) {
        const e = (k * S + s) * 4;
        const J = ff[e];
        const dnL = ff[e + 1];
        const dnR = ff[e + 2];
        const dpR = ff[e + 3];
        const zs = z[s];
        res[L * m + U] += zs * J;
        cols(B, L * mm + U * m, s, zs, dnL, -dpR);
        cols(C, L * mm + U * m, s, zs, dnR, dpR);
        const u = uOf[s];
        if (u < 0) continue;
        res[L * m + u] += cdt * J;
        cols(B, L * mm + u * m, s, cdt, dnL, -dpR);
        cols(C, L * mm + u * m, s, cdt, dnR, dpR);
        res[R * m + u] -= cdt * J;
        cols(A, R * mm + u * m, s, -cdt, dnL, -dpR);
        cols(B, R * mm + u * m, s, -cdt, dnR, dpR);
      }
    }
    // back face: drift out of cell N − 1
    {
      const L = N - 1;
      const psiL = y[L * m + U];
      for (let s = 0; s < S; s++) {
        if ((z[s] * psiL) / d[N] <= 0) continue;
        const e = (N * S + s) * 4;
        const J = ff[e];
        res[L * m + U] += z[s] * J;
        cols(B, L * mm + U * m, s, z[s], ff[e + 1], ff[e + 3]);
        const u = uOf[s];
        if (u < 0) continue;
        res[L * m + u] += cdt * J;
        cols(B, L * mm + u * m, s, cdt, ff[e + 1], ff[e + 3]);
      }
    }
    for (let i = 0; i < N; i++) res[i * m + U] -= blk.I;
  }

  /** Solve Poisson alone for ψ given the densities in y (tridiagonal). */
  solvePoisson(y: Float64Array): void {
    const { N, S, m, z, lambda2 } = this;
    const { h, d } = this.grid;
    const a = new Float64Array(N);
    const b = new Float64Array(N);
    const c = new Float64Array(N);
    const r = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      const cw = lambda2 / h[i];
      const aL = cw / (i === 0 ? this.dFront : d[i]);
      const aR = cw / d[i + 1];
      let rho = -1;
      for (let s = 0; s < S; s++) rho += z[s] * y[i * m + s];
      a[i] = i > 0 ? aL : 0;
      c[i] = i < N - 1 ? aR : 0;
      b[i] = -(aL + aR);
      r[i] = -rho - (i === 0 ? aL * this.psiFront : 0);
    }
    // Thomas
    for (let i = 1; i < N; i++) {
      const w = a[i] / b[i - 1];
      b[i] -= w * c[i - 1];
      r[i] -= w * r[i - 1];
    }
    y[(N - 1) * m + S] = r[N - 1] / b[N - 1];
    for (let i = N - 2; i >= 0; i--) y[i * m + S] = (r[i] - c[i] * y[(i + 1) * m + S]) / b[i];
  }
}
