/**
 * The gpu.js ensemble engine (src/gpujs) against its f64 twin
 * simulate(tabulateProtocol(quasi-neutral member, K)) — the same twin as the
 * WebGPU engine's (docs/numerics.md §6: blurred profiles to 0.01, fronts to
 * 0.5 nm) — in gpu.js's Node backend (WebAssembly kernels, f32). Also: the
 * f32 flux kernel against the f64 flux of src/solver/npp.ts, a failing
 * member, observations, abort and the refusals. (Its throughput is measured
 * in bench/gpu.ts --gpujs, not here.)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPU } from 'gpu.js';
import { describe, expect, it } from 'vitest';
import { compareProfiles } from '../src/analysis/profiles.js';
import { getPreset } from '../src/config/presets.js';
import type { Protocol } from '../src/config/schema.js';
import { memberResiduals } from '../src/ensemble/member.js';
import type { EnsembleResult } from '../src/ensemble/types.js';
import { makeObservation } from '../src/observe/observe.js';
import { GpuJsEngine, gpujsModes } from '../src/gpujs/engine.js';
import { FLUX_IN, FLUX_OUT, FluxKernels, lnDTable } from '../src/gpujs/kernel.js';
import { GpuJsStage, type FluxRequest } from '../src/gpujs/stage.js';
import { NUMERICS } from '../src/gpu/layout.js';
import { BandMatrix } from '../src/solver/banded.js';
import { REPO_ROOT, launchChromium, servePage } from './helpers/web.js';
import { needs } from './helpers/require.js';
import { makeDiffusivity } from '../src/physics/diffusion.js';
import { TABLE_POINTS, tabulateModel } from '../src/physics/tabulate.js';
import { sgFlux } from '../src/solver/npp.js';
import { gridOf } from '../src/solver/simulate.js';
import { dcsRequest, reducedPaper, twinOf, withDcs } from './helpers/protocols.js';

const K = TABLE_POINTS;
/** gpu.js's own choice in Node: headless-gl where its `gl` module is built (not on the project's machines), else WebAssembly */
const NODE_BACKEND = GPU.isHeadlessGLSupported ? 'headlessgl' : 'webasm';
const D_CS = [2.4e-23, 3.1e-23, 3.8e-23];
const reduced = reducedPaper;
const member = withDcs;
const request = dcsRequest;
const twin = (p: Protocol) => twinOf(p, K);


/** Asserts every ok member of a result against its twin (§6); returns the worst blurred difference. */
function expectTwins(res: EnsembleResult, members: Protocol[], which: number[], tag: string): number {
  let worst = 0;
  for (const i of which) {
    const r = res.members[i];
    expect(r.reason).toBeUndefined();
    expect(r.status).toBe('ok');
    const tw = twin(members[i]);
    for (let k = 0; k < members[i].stages.length; k++) {
      const g = r.stages[k];
      const f = tw.stages[k];
      const c = compareProfiles({ depth_nm: g.depth_nm!, density: g.density! }, f);
      const dDur = Math.abs(g.duration_s / f.duration_s - 1);
      const dQ = Math.abs(g.charge_C / f.charge_C - 1);
      console.log(
        `[gpujs] ${tag} member ${i} stage ${k + 1}: blurred max diff ${c.worst.toExponential(2)}, Li front ${c.front.a.toFixed(3)} vs ${c.front.b.toFixed(3)} nm, ` +
          `duration ${dDur.toExponential(1)}, charge ${dQ.toExponential(1)}; steps ${g.stats.steps}/${g.stats.rejected} twin ${f.stats.steps}/${f.stats.rejected}`,
      );
      expect(c.worst).toBeLessThanOrEqual(0.01);
      expect(c.front.diff).toBeLessThanOrEqual(0.5);
      expect(dDur).toBeLessThanOrEqual(1e-3);
      expect(dQ).toBeLessThanOrEqual(1e-3);
      // the same scheme: the same accepted and rejected steps as the twin
      expect(Math.abs(g.stats.steps - f.stats.steps)).toBeLessThanOrEqual(2);
      expect(Math.abs(g.stats.rejected - f.stats.rejected)).toBeLessThanOrEqual(2);
      worst = Math.max(worst, c.worst);
    }
  }
  return worst;
}

describe('gpu.js in Node', () => {
  it('gpu.js picks its WebAssembly backend in Node without headless-gl (no WebGL), and the engine names it', () => {
    const modes = gpujsModes();
    expect(modes).toContain('webasm');
    expect(modes).not.toContain('webgl2');
    const engine = new GpuJsEngine();
    expect(engine.name).toBe('gpujs');
    expect(engine.adapter).toBe(`gpu.js 2.24.1 (${NODE_BACKEND})`);
    expect(new GpuJsEngine({ mode: 'webasm' }).adapter).toBe('gpu.js 2.24.1 (webasm)');
    expect(new GpuJsEngine({ mode: 'cpu' }).adapter).toBe('gpu.js 2.24.1 (cpu)');
  });

  it('the f32 flux kernel matches the f64 Scharfetter–Gummel flux of src/solver/npp.ts with the twin\'s D table', () => {
    // the paper's stage-2 Rb+ SED (fall-off at θ = 0.1) tabulated as the twin does, beside a constant D
    const p = getPreset('paper');
    const st = p.stages[1];
    const sedTable = tabulateModel(st.D.Rb, st.T_K, K);
    const models = [sedTable, st.D.Cs];
    const diff = models.map((m) => makeDiffusivity(m, st.T_K));
    const tables = models.map((m) => lnDTable(m, st.T_K));
    const S = 2;
    const F = 400;
    const invd = Float64Array.from({ length: F }, (_, k) => 1 / (0.25 + 0.01 * k));
    // deterministic pseudo-random densities over (0, 1.02) and drops over ±30 kT/e, some in the series range |Δ| < 0.5
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const inputs = new Float64Array(F * S * FLUX_IN);
    for (let k = 0; k < F; k++)
      for (let s = 0; s < S; s++) {
        const e = (k * S + s) * FLUX_IN;
        const nL = 1.02 * rnd();
        const nR = k % 3 === 0 ? nL * (1 + 1e-4 * (rnd() - 0.5)) : 1.02 * rnd();
        inputs[e] = nL;
        inputs[e + 1] = nR;
        inputs[e + 2] = nL - nR;
        inputs[e + 3] = k % 4 === 0 ? 1e-3 * (rnd() - 0.5) : k % 4 === 1 ? rnd() - 0.5 : 60 * (rnd() - 0.5);
      }
    const kernels = new FluxKernels(new GPU({ mode: 'webasm' }));
    const [out] = kernels.evaluate({ S, F, inputs: [inputs], tables: [tables], invd });
    expect(kernels.mode).toBe('webasm');
    const avg = new Float64Array(3);
    const ref = new Float64Array(4);
    const t2 = new Float64Array(2);
    const worst = [0, 0, 0, 0];
    for (let k = 1; k < F - 1; k++)
      for (let s = 0; s < S; s++) {
        const e = (k * S + s) * FLUX_IN;
        const [nL, nR, , Delta] = inputs.subarray(e, e + 4);
        diff[s].eval(nL, t2);
        const DL = t2[0] * 1e18;
        const dDL = t2[1] * 1e18;
        diff[s].eval(nR, t2);
        const DR = t2[0] * 1e18;
        const dDR = t2[1] * 1e18;
        sgFlux('arithmetic', DL, DR, dDL, dDR, nL, nR, 1, Delta, invd[k], avg, ref);
        // errors relative to the size of the terms each quantity is a sum of
        const Df = 0.5 * (DL + DR);
        const B = Math.abs(Delta) < 1e-8 ? 1 : Delta / Math.expm1(Delta);
        const g = Math.abs(B * (nL - nR)) + Math.abs(Delta * nR);
        const scale = [Df * g, Df * B + 0.5 * Math.abs(dDL) * g, Df * (B + Math.abs(Delta)) + 0.5 * Math.abs(dDR) * g, Df * (nL + nR)].map((v) => v * invd[k]);
        for (let q = 0; q < 4; q++) {
          const got = out[(k * S + s) * FLUX_OUT + q];
          const err = Math.abs(got - ref[q]) / scale[q];
          if (q === 1 || q === 2) {
            // dD/dn: an f32-rounded n next to a table node may take the neighbouring interval's slope; count only the rest
            const x = (q === 1 ? nL : nR) * (K - 1);
            if (Math.abs(x - Math.round(x)) < 1e-3) continue;
          }
          worst[q] = Math.max(worst[q], err);
        }
      }
    console.log(`[gpujs] flux kernel (webasm, f32) vs f64 sgFlux, relative to the terms: J ${worst[0].toExponential(2)}, dJ/dnL ${worst[1].toExponential(2)}, dJ/dnR ${worst[2].toExponential(2)}, dJ/dΔ ${worst[3].toExponential(2)}`);
    // a few f32 ulps through exp of ln D (|ln D| ≲ 16) and B(Δ); ∂J/∂n too, because the table carries its slopes
    // taken in f64 (as a difference of two f32 entries they lost ~1e-3: 4.6e-4 measured before lnDTable kept them)
    for (const w of worst) expect(w).toBeLessThan(1e-5);
    expect(worst[1]).toBeGreaterThan(0); // the node filter above left points to compare
    // the back face: drift out only, J = D n Δ for Δ > 0, nothing for Δ ≤ 0
    const last = (F - 1) * S;
    for (let s = 0; s < S; s++) {
      const e = (last + s) * FLUX_IN;
      const [nL, , , Delta] = inputs.subarray(e, e + 4);
      const D = diff[s].D(nL) * 1e18;
      const J = out[(last + s) * FLUX_OUT];
      if (Delta > 0) expect(Math.abs(J / (D * nL * Delta) - 1)).toBeLessThan(1e-5);
      else expect(J).toBe(0);
    }
    kernels.destroy();
  });
});

describe('the f32 assembly vs the f64 assembly (npp.ts StageSystem) at the twin\'s end states', () => {
  it('residual errors move the Newton solution by far less than its tolerances; Jacobian entries agree to ~1e-3 (θ = 1 rounding)', () => {
    const base = member(reduced(), 3.1e-23);
    const tp = new GpuJsEngine().twinProtocol(base);
    const tw = twin(base);
    const grid = gridOf(base);
    const species = Object.keys(tp.species);
    const kernels = new FluxKernels(new GPU({ mode: 'webasm' }));
    const invd = Float64Array.from(grid.d, (d) => 1 / d);
    const drive = <T>(gen: Generator<FluxRequest, T, void>): T => {
      for (;;) {
        const r = gen.next();
        if (r.done) return r.value;
        r.value.out = kernels.evaluate({ S: r.value.S, F: r.value.F, inputs: [r.value.inputs], tables: [r.value.tables], invd })[0];
      }
    };
    for (const k of [0, 1]) {
      const stage = tp.stages[k];
      // the stage as the engine sets it up (closing species from the stage-start densities)
      const start = species.map((nm) => (k === 0 ? new Float64Array(grid.N).fill(tp.species[nm].initial) : Float64Array.from(tw.stages[0].density[nm])));
      const tables = species.filter((nm) => nm in stage.D).map((nm) => lnDTable(stage.D[nm], stage.T_K));
      const gs = new GpuJsStage(tp, stage, grid, species, start, tables);
      const sys = gs.sys;
      const { m, U } = sys;
      const y = new Float64Array(gs.n);
      sys.pack(species.map((nm) => Float64Array.from(tw.stages[k].density[nm])), Float64Array.from(tw.stages[k].potential_V, (v) => v / sys.kT), y);
      for (const dt of [0, 1000]) {
        const cdt = (NUMERICS.GAMMA / 2) * dt;
        const rhs = Float64Array.from(y);
        const A = new BandMatrix(gs.n, sys.kl, sys.ku);
        const r64 = new Float64Array(gs.n);
        sys.assemble(y, rhs, cdt, A, r64);
        const { res, ab } = drive(gs.assembly(y, rhs, cdt));
        let jac = 0;
        for (let j = 0; j < gs.n; j++) {
          let cmax = 0;
          for (let i = 0; i < A.ldab; i++) cmax = Math.max(cmax, Math.abs(A.ab[j * A.ldab + i]));
          for (let i = 0; i < A.ldab; i++) jac = Math.max(jac, Math.abs(ab[j * A.ldab + i] - A.ab[j * A.ldab + i]) / cmax);
        }
        // what the residual error does to the Newton solution: δy = A⁻¹ (res_f32 − res_f64)
        const dy = Float64Array.from(res, (v, i) => v - r64[i]);
        expect(A.factor()).toBe(-1);
        A.solve(dy);
        const { rtol, atol } = tp.solver;
        let dn = 0;
        let dpsi = 0;
        let dpsiTol = 0;
        for (let i = 0; i < grid.N; i++) {
          for (let u = 0; u < U; u++) dn = Math.max(dn, Math.abs(dy[i * m + u]) / (atol + rtol * Math.abs(y[i * m + u])));
          dpsi = Math.max(dpsi, Math.abs(dy[i * m + U]));
          dpsiTol = Math.max(dpsiTol, Math.abs(dy[i * m + U]) / (NUMERICS.PSI_TOL + NUMERICS.FIELD_TOL * grid.h[i]));
        }
        console.log(
          `[gpujs] assembly at the end of stage ${k + 1}, Δt ${dt} s: Jacobian max |f32 − f64| / column max ${jac.toExponential(2)}; ` +
            `A⁻¹(res_f32 − res_f64): densities ${dn.toExponential(2)} tolerance units, ψ ${dpsi.toExponential(2)} kT/e (${dpsiTol.toExponential(2)} of the ψ tolerance)`,
        );
        // the largest Jacobian differences sit in cells with θ within f32 rounding of 1 (1 − 1e-14 in f64, 1 in f32),
        // where the twin's table slope jumps from the last interval's to 0: a Jacobian entry, not the residual
        expect(jac).toBeLessThan(3e-3);
        expect(dn).toBeLessThan(0.1 * NUMERICS.NEWTON_TOL);
        expect(dpsiTol).toBeLessThan(1);
      }
    }
    kernels.destroy();
  });
});

describe('gpu.js engine vs the f64 twin', () => {
  it('reduced paper protocol, 3 members varying D(Cs+): profiles, fronts, durations, charges and steps match the twins', async () => {
    const base = reduced();
    const grid = gridOf(base);
    expect(grid.N).toBeGreaterThan(80);
    expect(grid.N).toBeLessThan(130);
    const members = D_CS.map((D) => member(base, D));
    const engine = new GpuJsEngine();
    const progress: number[] = [];
    const t = performance.now();
    const res = await engine.run(request(members, D_CS.map((D) => [D])), { onProgress: (p) => p.finished && progress.push(p.done) });
    const wall = (performance.now() - t) / 1000;
    expect(res.engine).toBe('gpujs');
    expect(res.adapter).toBe(`gpu.js 2.24.1 (${NODE_BACKEND})`);
    expect(progress).toEqual([1, 2, 3]);
    expect(res.members.map((m) => m.values)).toEqual(D_CS.map((D) => [D]));
    const tm = engine.kernels.time;
    // every flux of every member went through gpu.js: at least one kernel call per Newton iteration
    const its = res.members.reduce((a, m) => Math.max(a, m.stages.reduce((b, s) => b + s.stats.newtonIterations, 0)), 0);
    expect(tm.calls).toBeGreaterThanOrEqual(its);
    console.log(
      `[gpujs] ${res.adapter}: ${grid.N} cells, 3 members x 2 stages in ${wall.toFixed(2)} s: ${tm.calls} kernel calls over ${tm.elements} (member, face, species) elements; ` +
        `gpu.js kernel ${tm.kernel_s.toFixed(2)} s, packing/unpacking ${tm.pack_s.toFixed(2)} s, host f64 (rows, banded LU, Newton, step control) ${(wall - tm.kernel_s - tm.pack_s).toFixed(2)} s`,
    );
    const worst = expectTwins(res, members, [0, 1, 2], 'webasm');
    console.log(`[gpujs] worst blurred difference to the twins: ${worst.toExponential(2)} (docs/numerics.md §6 asks ≤ 0.01)`);
    engine.close();
  });

  it("0.25 nm cells behind a 27 nm exchanged zone: the twin's steps (f32 fluxes in f64 rows keep the current rows well conditioned)", async () => {
    // the case that made npp_qn.wgsl telescope its current rows (tests/gpu-engine.test.ts); here the rows stay the twin's
    const p = reduced();
    p.grid = { h_fine_nm: 0.25, x_fine_nm: 80, growth: 1.3 };
    (p.stages[0].stop as { charge_C: number }).charge_C = 1.5e-3;
    (p.stages[1].stop as { charge_C: number }).charge_C = 0.1e-3;
    const res = await new GpuJsEngine().run(request([p], [[3.1e-23]]));
    expect(gridOf(p).N).toBeGreaterThan(300);
    expectTwins(res, [p], [0], '0.25 nm');
  });

  it('a member that cannot deliver its charge fails with a reason; the others finish and match their twins (2 live members, 1 per kernel call)', async () => {
    const base = reduced();
    const members = D_CS.map((D) => member(base, D));
    members[1].stages[0].max_duration_s = 50;
    // a window of 2 live members (member 2 starts when member 1 fails) and one member per kernel call (F·S = 112·3 > 400/2)
    const engine = new GpuJsEngine({ maxLiveMembers: 2, maxElementsPerCall: 400 });
    const finished: number[] = [];
    const res = await engine.run(request(members, D_CS.map((D) => [D])), { onProgress: (p) => p.finished && finished.push(p.finished.index) });
    expect(res.members.map((m) => m.status)).toEqual(['ok', 'failed', 'ok']);
    // it fails in stage 1, long before the others finish stage 2
    expect(finished[0]).toBe(1);
    const reason = res.members[1].reason!;
    console.log(`[gpujs] failed member: ${reason}`);
    expect(reason).toMatch(/^stage cannot deliver its charge: after max_duration_s = 5\.000e\+1 s only [0-9.]+ of 0\.6300 mC were delivered .*\(stage "stage 1 \(Rb\+\)", t = 50(\.0+\d*)? s\)$/);
    expect(res.members[1].stages).toEqual([]);
    expectTwins(res, members, [0, 2], 'with a failing member');
    expect(engine.kernels.time.largestBatch).toBe(1);
    // member 2 was admitted only when member 1 failed, so member 0 (which needs more rounds than member 2) finished before it
    expect(finished).toEqual([1, 0, 2]);
  });

  it('observations: each member carries the residual of its final profiles, as the f64 definition gives it for the twin', async () => {
    const base = reduced();
    const members = [member(base, 2.4e-23), member(base, 3.8e-23)];
    // a "measurement": the 3.1e-23 twin's stage-2 profile, sampled every 2 nm
    const ref = twin(member(base, 3.1e-23)).stages[1];
    const depth = Array.from({ length: 40 }, (_, j) => 1 + 2 * j);
    const at = (sp: string) => depth.map((x) => ref.density[sp][ref.depth_nm.findIndex((c) => c >= x)]);
    const obs = makeObservation(
      { depth_nm: depth, c: { Cs: at('Cs'), Rb: at('Rb'), Li: at('Li') } },
      { stage: 1, label: 'synthetic', protocolSpecies: Object.keys(base.species), resolution: { kind: 'gauss', sigma_nm: 2 }, window_nm: [2, 70] },
    );
    const req = { ...request(members, [[2.4e-23], [3.8e-23]]), observations: [obs], keepModel: true };
    const res = await new GpuJsEngine().run(req);
    for (let i = 0; i < 2; i++) {
      const r = res.members[i];
      expect(r.status).toBe('ok');
      expect(r.residuals).toHaveLength(1);
      const want = memberResiduals(twin(members[i]), [obs], true)[0];
      const got = r.residuals![0];
      console.log(`[gpujs] residual member ${i}: ${got.ssr.toExponential(4)} (twin ${want.ssr.toExponential(4)}, ${got.points} points)`);
      expect(got.points).toBe(want.points);
      expect(got.ssr).toBeGreaterThan(0);
      expect(Math.abs(got.ssr / want.ssr - 1)).toBeLessThan(1e-3);
      for (const sp of obs.species) expect(got.model![sp].length).toBe(want.model![sp].length);
    }
    // neither member is the measured one (3.1e-23): their residuals are far from zero
    for (const m of res.members) expect(m.residuals![0].ssr).toBeGreaterThan(1e-3);
  });

  it('a failing gpu.js kernel rejects the run with a SolverError naming the engine and the backend', async () => {
    const broken = () => {
      const k = Object.assign(
        () => {
          throw new Error('CONTEXT_LOST_WEBGL\nmore lines');
        },
        { setOutput: () => k, destroy: () => {} },
      );
      return k;
    };
    const engine = new GpuJsEngine({ gpu: { mode: 'webgl2', createKernel: broken, destroy: async () => {} } as unknown as GPU });
    const run = engine.run(request([reduced()], [[0]]));
    await expect(run).rejects.toThrow('gpujs engine: the flux kernel failed on gpu.js 2.24.1 (webgl2): CONTEXT_LOST_WEBGL');
    await expect(run).rejects.toHaveProperty('name', 'SolverError');
  });

  it('an aborted run rejects', async () => {
    const base = reduced();
    const ctl = new AbortController();
    const engine = new GpuJsEngine();
    const p = engine.run(request([base], [[0]]), { signal: ctl.signal });
    ctl.abort(new Error('stop here'));
    await expect(p).rejects.toThrow('stop here');
  });
});

describe('gpu.js engine: requests it refuses', () => {
  const engine = new GpuJsEngine({ mode: 'cpu' });
  it('names the path where members differ in more than a number', () => {
    const a = reduced();
    const b = structuredClone(a);
    b.stages[1].beam = 'Rb';
    expect(() => engine.check(request([a, b], [[0], [1]]))).toThrow(
      'gpujs engine: all members must share species, stages and grid; member 1 differs from member 0 at stages.1.beam',
    );
    const c = structuredClone(a);
    c.grid.h_fine_nm = 0.5;
    expect(() => engine.check(request([a, c], [[0], [1]]))).toThrow(/member 1 differs from member 0 at grid\.h_fine_nm$/);
  });

  it('refuses what the scheme does not implement, naming the field', async () => {
    const d = reduced();
    (d.stages[1].D.Rb as { nref: string }).nref = 'stageStart';
    expect(() => engine.check(request([d], [[0]]))).toThrow('member 0: stages.1.D.Rb.nref: the gpujs engine supports nref = bulk only');
    const e = reduced();
    e.stages[0].record.times_s = [10];
    expect(() => engine.check(request([e], [[0]]))).toThrow('member 0: stages.0.record: the gpujs engine records no snapshots (leave times_s and charges_C empty)');
    const f = reduced();
    f.solver.face_D = 'harmonic';
    await expect(engine.run(request([f], [[0]]))).rejects.toThrow('member 0: solver.face_D: the gpujs engine implements the arithmetic face average only');
    expect(() => engine.check(request([], []))).toThrow('the request has no members');
  });

  it('refuses a gpu.js mode that is unknown or not available here', () => {
    expect(() => new GpuJsEngine({ mode: 'webgl2' })).toThrow("gpujs engine: gpu.js mode 'webgl2' is not available here (available: gpu, webasm, cpu)");
    expect(() => new GpuJsEngine({ mode: 'cuda' })).toThrow("gpujs engine: unknown gpu.js mode 'cuda'; use one of gpu, webgl2, webgl, headlessgl, webasm, cpu");
  });
});

const chromium = needs('chromium');

describe.skipIf(chromium.skip)('in headless Chromium: WebGL2 on SwiftShader, bundled by vite', () => {
  chromium.assertPresent();
  it('a scratch page bundles the engine (no Node modules) and its webgl2 kernels match the twins', async () => {
    // a throwaway page in a temp dir (not the explorer's build): the engine, the reduced protocol, 3 members
    const dir = mkdtempSync(join(tmpdir(), 'cait-gpujs-page-'));
    const src = (f: string) => JSON.stringify(join(REPO_ROOT, 'src', f));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><html><body><script type="module" src="./main.ts"></script></body></html>');
    writeFileSync(
      join(dir, 'main.ts'),
      `import { GpuJsEngine } from ${src('gpujs/engine.ts')};
       (window as any).runGpuJs = async (members: unknown[], values: number[][]) => {
         const engine = new GpuJsEngine({ mode: 'webgl2' });
         const t = performance.now();
         const res = await engine.run({ base: members[0] as never, parameters: ['stages.1.D.Cs.D_m2s'], values, members: members as never, profiles: 'final' });
         const gl = document.createElement('canvas').getContext('webgl2')!;
         const dbg = gl.getExtension('WEBGL_debug_renderer_info');
         const renderer = dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
         return { res, wall_s: (performance.now() - t) / 1000, time: engine.kernels.time, renderer };
       };`,
    );
    const { build, createLogger } = await import('vite');
    const out = join(dir, 'dist');
    // vite warns when a browser bundle reaches a Node built-in ("Module "fs" has been externalized for browser compatibility")
    const warnings: string[] = [];
    const logger = createLogger('warn');
    logger.warn = (msg) => void warnings.push(msg);
    logger.warnOnce = (msg) => void warnings.push(msg);
    await build({ configFile: false, root: dir, customLogger: logger, build: { outDir: out, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 } });
    expect(warnings.filter((w) => /externalized|node:|Could not resolve/i.test(w))).toEqual([]);
    const js = readdirSync(join(out, 'assets'))
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(out, 'assets', f), 'utf8'))
      .join('\n');
    expect(/\bfrom ?["']node:|import\(["']node:/.exec(js)?.[0]).toBeUndefined();
    const server = await servePage(out);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(server.url);
      await page.waitForFunction(() => typeof (window as unknown as { runGpuJs?: unknown }).runGpuJs === 'function');
      const members = D_CS.map((D) => member(reduced(), D));
      const got = await page.evaluate(
        (ms, vs) => (window as unknown as { runGpuJs: (m: unknown[], v: number[][]) => Promise<unknown> }).runGpuJs(ms, vs),
        members as unknown as object[],
        D_CS.map((D) => [D]),
      );
      const { res, wall_s, time, renderer } = got as { res: EnsembleResult; wall_s: number; time: FluxKernels['time']; renderer: string };
      expect(errors).toEqual([]);
      console.log(
        `[gpujs] ${res.adapter} on ${renderer}: 3 members x 2 stages in ${wall_s.toFixed(2)} s (kernel ${time.kernel_s.toFixed(2)} s, packing ${time.pack_s.toFixed(2)} s, ${time.calls} calls)`,
      );
      expect(res.adapter).toBe('gpu.js 2.24.1 (webgl2)');
      const worst = expectTwins(res, members, [0, 1, 2], 'webgl2');
      console.log(`[gpujs] webgl2: worst blurred difference to the twins ${worst.toExponential(2)}`);
    } finally {
      await browser.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

