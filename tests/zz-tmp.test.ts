import { it } from 'vitest';
import { saltelliDesign, sobolIndices } from '../src/gsa/sobol.js';
import { morrisDesign, morrisIndices } from '../src/gsa/morris.js';
import { ishigami, sobolG } from '../src/gsa/functions.js';
it('x', () => {
  const f = ishigami();
  const t0 = performance.now();
  let cover = 0, tot = 0, worst = 0;
  for (const seed of [1,2,3,4,5]) {
    const d = saltelliDesign(3, 8192, { seed, secondOrder: true });
    const y = d.unit.map((u) => f.evaluate(Array.from(u, (v) => -Math.PI + 2 * Math.PI * v)));
    const s = sobolIndices(d, y, { seed });
    for (const key of ['S1','ST'] as const) s[key].forEach((v, i) => { const e = Math.abs(v! - f.analytic[key][i]); worst = Math.max(worst, e); tot++; if (e <= s[`${key}_conf`][i]!) cover++; });
    console.log(seed, s.S1.map((v) => v!.toFixed(4)).join(' '), '|', s.ST.map((v) => v!.toFixed(4)).join(' '), 'conf', s.S1_conf.map((v)=>v!.toFixed(4)).join(' '), s.ST_conf.map((v)=>v!.toFixed(4)).join(' '), 'S2 13', s.S2![0][2]!.toFixed(4), s.S2_conf![0][2]!.toFixed(4));
  }
  console.log('analytic', f.analytic.S1.map((v)=>v.toFixed(4)).join(' '), '|', f.analytic.ST.map((v)=>v.toFixed(4)).join(' '), f.analytic.S2[0][2]);
  console.log('cover', cover, tot, 'worst', worst, 'ms', performance.now() - t0);
  const g = sobolG([0, 1, 4.5, 9, 99, 99, 99, 99]);
  const d2 = saltelliDesign(8, 8192, { seed: 1 });
  const s2 = sobolIndices(d2, d2.unit.map((u) => g.evaluate(u)));
  console.log('G S1', s2.S1.map((v)=>v!.toFixed(4)).join(' '), '\n  an', g.analytic.S1.map((v)=>v.toFixed(4)).join(' '));
  console.log('G ST', s2.ST.map((v)=>v!.toFixed(4)).join(' '), '\n  an', g.analytic.ST.map((v)=>v.toFixed(4)).join(' '));
  const dm = morrisDesign(8, 40, { seed: 3 });
  const m = morrisIndices(dm, dm.unit.map((u) => g.evaluate(u)));
  console.log('morris mu*', m.mu_star.map((v)=>v!.toFixed(4)).join(' '), 'sigma', m.sigma.map((v)=>v!.toFixed(4)).join(' '));
});
