// Residuals of every member against measured profiles, on the GPU, at the end of a stage: for each
// (member, row) — a row is one species of one observation (src/fit/observe.ts) — the model at the row's
// measured depths model_p = Σ_k w_pk n(first_p + k) (depth resolution, mirrored at the surface, as
// sparse weights made on the host in f64) and the row's Σ_p (model_p − target_p)². The species' weight
// and the sum over rows are applied on the host.
//
// Prepended: the stage's const block (src/gpu/layout.ts wgslPrelude: N, DENS_STRIDE) and residualPrelude
// (RD_*). Densities come from the profiles buffer of shaders/npp_qn.wgsl at the end of the stage (every
// protocol species, cell order).

@group(0) @binding(0) var<storage, read> dens: array<f32>;
@group(0) @binding(1) var<storage, read> rdesc: array<u32>;
@group(0) @binding(2) var<storage, read> rdat: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// cfg.x: members in the batch (M); cfg.y: rows (R); cfg.z: 1 = write the model values
@group(0) @binding(4) var<uniform> cfg: vec4u;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn residual(@builtin(global_invocation_id) gid: vec3u) {
  let M = cfg.x;
  let R = cfg.y;
  let j = gid.x;
  let r = gid.y;
  if (j >= M || r >= R) {
    return;
  }
  let d = r * RD_STRIDE;
  let pBase = rdesc[d + RD_POINTBASE];
  let P = rdesc[d + RD_POINTS];
  let o = j * DENS_STRIDE + rdesc[d + RD_SPECIES] * N;
  let tOff = rdesc[d + RD_TARGETOFFSET];
  let mOff = rdesc[d + RD_MODELOFFSET];
  // Kahan-compensated sum of squares (hundreds of points in f32)
  var ssr = 0.0;
  var c = 0.0;
  for (var p = 0u; p < P; p++) {
    let first = rdesc[pBase + 3u * p];
    let count = rdesc[pBase + 3u * p + 1u];
    let wOff = rdesc[pBase + 3u * p + 2u];
    var m = 0.0;
    for (var k = 0u; k < count; k++) {
      m += rdat[wOff + k] * dens[o + first + k];
    }
    if (cfg.z == 1u) {
      out[(R + mOff + p) * M + j] = m;
    }
    let e = m - rdat[tOff + p];
    let y = e * e - c;
    let t = ssr + y;
    c = (t - ssr) - y;
    ssr = t;
  }
  out[r * M + j] = ssr;
}
