// Smoke test for the WebGPU stack: y = a * x + b, two ways.
//
//   axpb:    one invocation per element, y[i] = a * x[i] + b.
//   iterate: one invocation per "lattice" of `cells` consecutive elements of y;
//            `steps` times over every cell, y[c] = a * y[c] + b (in place).
//            Each invocation runs steps * cells loop iterations, the shape of
//            the ensemble engine's time loop. llvmpipe cuts an invocation
//            off after 65,535 loop iterations in all (each loop exit test
//            counts), i.e. steps * (cells + 2) here, and the results are then
//            silently wrong: keep per-dispatch loop counts below that.
//
// Bindings (one explicit layout serves both entry points):
//   @binding(0) uniform Params, @binding(1) x (read), @binding(2) y (read_write).

override WORKGROUP_SIZE: u32 = 64u;

struct Params {
  a: f32,
  b: f32,
  n: u32,      // elements in x and y
  steps: u32,  // iterate: outer loop count per dispatch
  cells: u32,  // iterate: elements per lattice (inner loop count)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn affine(v: f32) -> f32 {
  return params.a * v + params.b;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn axpb(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= params.n) {
    return;
  }
  y[i] = affine(x[i]);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn iterate(@builtin(global_invocation_id) gid: vec3u) {
  let first = gid.x * params.cells;
  if (first + params.cells > params.n) {
    return;
  }
  for (var s = 0u; s < params.steps; s++) {
    for (var c = first; c < first + params.cells; c++) {
      y[c] = affine(y[c]);
    }
  }
}
