// The scalar summary of every member at the end of a stage, on the GPU (src/ensemble/summary.ts, the f64
// definition): per protocol species the 0.5 n0 front (rising for a native species, falling for a foreign
// one that has entered), the maximum of the profile blurred by a 1 nm Gaussian (mirrored at the surface,
// sampled from SUM_FROM at SUM_STEP, refined by a parabola), the mean composition of the zone from SUM_FROM
// to the native front minus SUM_MARGIN, the inventory ∫ n dx and the largest cell value. One workgroup per
// member; the host only decodes the record (src/gpu/layout.ts SUM_FIELDS).
//
// Prepended: the stage's const block (src/gpu/layout.ts wgslPrelude) and summaryPrelude (species roles,
// window). The blur is the f64 observation operator of the sample depths (src/fit/observe.ts), uploaded
// as sparse weights: triplets (first cell, count, weight offset) in sidx, weights in swt.

@group(0) @binding(0) var<storage, read> dens: array<f32>;
@group(0) @binding(1) var<storage, read> geo: array<f32>;
@group(0) @binding(2) var<storage, read> sidx: array<u32>;
@group(0) @binding(3) var<storage, read> swt: array<f32>;
@group(0) @binding(4) var<storage, read_write> sum: array<f32>;
// cfg.x: members (M); cfg.y: blurred samples; cfg.z: members per row of the dispatch grid
@group(0) @binding(5) var<uniform> cfg: vec4u;

const WGS: u32 = 64u;
// "none" (null in src/ensemble/summary.ts): no NaN, which fast-math GPU compilers may not keep
const SUM_NONE: f32 = -3.0e38;

var<workgroup> blur: array<f32, SUM_MAX_SAMPLES>;
var<workgroup> r1: array<f32, WGS>;
var<workgroup> r2: array<f32, WGS>;
var<workgroup> wres: array<f32, 4>;

fn xC(i: u32) -> f32 { return geo[3u * N + 2u + i]; }
fn hC(i: u32) -> f32 { return geo[i]; }

/** Tree reduction of r1 (max, or min with op 1, or sum with op 2); the result at r1[0]. */
fn reduce(lid: u32, op: u32) {
  for (var w = WGS / 2u; w > 0u; w = w / 2u) {
    workgroupBarrier();
    if (lid < w) {
      let a = r1[lid];
      let b = r1[lid + w];
      if (op == 0u) { r1[lid] = max(a, b); } else if (op == 1u) { r1[lid] = min(a, b); } else { r1[lid] = a + b; }
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(WGS)
fn summary(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let j = wid.y * cfg.z + wid.x;
  if (j >= cfg.x) { return; }
  let base = j * DENS_STRIDE;
  let out = j * SUM_STRIDE;
  let ns = min(cfg.y, SUM_MAX_SAMPLES);
  let role = ROLE_INIT;
  var frontAt = SUM_NONE;
  for (var sp = 0u; sp < SP; sp++) {
    let o = base + sp * N;
    // inventory (compensated per lane) and the largest cell value
    var inv = 0.0;
    var cmp = 0.0;
    var peak = -3.0e38;
    for (var i = lid; i < N; i += WGS) {
      let v = dens[o + i];
      let y = hC(i) * v - cmp;
      let t = inv + y;
      cmp = (t - inv) - y;
      inv = t;
      peak = max(peak, v);
    }
    r1[lid] = inv;
    reduce(lid, 2u);
    let inventory = r1[0];
    workgroupBarrier();
    r1[lid] = peak;
    reduce(lid, 0u);
    let pk = r1[0];
    workgroupBarrier();
    var front = SUM_NONE;
    var maxValue = SUM_NONE;
    var maxDepth = SUM_NONE;
    if (role[sp] != 0u) {
      // the front: the first cell i where the profile crosses the level between i − 1 and i
      var first = f32(N);
      for (var i = 1u + lid; i < N; i += WGS) {
        let a = dens[o + i - 1u];
        let b = dens[o + i];
        var hit = false;
        if (role[sp] == 1u) { hit = a < SUM_LEVEL && b >= SUM_LEVEL; } else { hit = a >= SUM_LEVEL && b < SUM_LEVEL; }
        if (hit) { first = min(first, f32(i)); }
      }
      r1[lid] = first;
      reduce(lid, 1u);
      let fi = u32(r1[0]);
      workgroupBarrier();
      if (fi < N) {
        let a = dens[o + fi - 1u];
        let b = dens[o + fi];
        let x0 = xC(fi - 1u);
        let x1 = xC(fi);
        if (role[sp] == 1u) { front = x0 + ((SUM_LEVEL - a) / (b - a)) * (x1 - x0); } else { front = x0 + ((a - SUM_LEVEL) / (a - b)) * (x1 - x0); }
      }
      // the blurred profile at the samples, its maximum and the first sample within 1e-6 of it
      var m = -3.0e38;
      for (var p = lid; p < ns; p += WGS) {
        let first = sidx[3u * p];
        let count = sidx[3u * p + 1u];
        let wo = sidx[3u * p + 2u];
        var v = 0.0;
        for (var k = 0u; k < count; k++) { v += swt[wo + k] * dens[o + first + k]; }
        blur[p] = v;
        m = max(m, v);
      }
      r1[lid] = m;
      reduce(lid, 0u);
      let mx = r1[0];
      workgroupBarrier();
      let tol = 1e-6 * max(1.0, abs(mx));
      var jm = f32(ns - 1u);
      for (var p = lid; p < ns; p += WGS) {
        if (blur[p] >= mx - tol) { jm = min(jm, f32(p)); }
      }
      r1[lid] = jm;
      reduce(lid, 1u);
      let jj = u32(r1[0]);
      workgroupBarrier();
      maxDepth = SUM_FROM + f32(jj) * SUM_STEP;
      maxValue = blur[jj];
      if (jj > 0u && jj + 1u < ns && blur[jj] >= blur[jj - 1u] && blur[jj] >= blur[jj + 1u]) {
        let den = blur[jj - 1u] - 2.0 * blur[jj] + blur[jj + 1u];
        if (den < 0.0) {
          let d = (blur[jj - 1u] - blur[jj + 1u]) / (2.0 * den);
          maxDepth += d * SUM_STEP;
          maxValue -= 0.25 * (blur[jj - 1u] - blur[jj + 1u]) * d;
        }
      }
      workgroupBarrier();
    }
    if (i32(sp) == FRONT_SPECIES) { frontAt = front; }
    if (lid == 0u) {
      sum[out + sp * SUM_FIELDS + SUM_FRONT] = front;
      sum[out + sp * SUM_FIELDS + SUM_MAXVALUE] = maxValue;
      sum[out + sp * SUM_FIELDS + SUM_MAXDEPTH] = maxDepth;
      sum[out + sp * SUM_FIELDS + SUM_INVENTORY] = inventory;
      sum[out + sp * SUM_FIELDS + SUM_PEAK] = pk;
    }
  }
  // the mean composition between SUM_FROM and the native front − SUM_MARGIN (cells cut at the window's ends)
  let to = frontAt - SUM_MARGIN;
  let hasWindow = to > SUM_FROM;
  for (var sp = 0u; sp < SP; sp++) {
    var acc = 0.0;
    if (hasWindow) {
      for (var i = lid; i < N; i += WGS) {
        let a = xC(i) - 0.5 * hC(i);
        let b = xC(i) + 0.5 * hC(i);
        let lo = max(SUM_FROM, a);
        let hi = min(to, b);
        if (hi > lo) { acc += (hi - lo) * dens[base + sp * N + i]; }
      }
    }
    r1[lid] = acc;
    reduce(lid, 2u);
    if (lid == 0u) { sum[out + sp * SUM_FIELDS + SUM_MEAN] = select(SUM_NONE, r1[0] / (to - SUM_FROM), hasWindow); }
    workgroupBarrier();
  }
  if (lid == 0u) { sum[out + SP * SUM_FIELDS] = select(SUM_NONE, to, hasWindow); }
}
