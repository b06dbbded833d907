/// <reference types="@webgpu/types" />
/**
 * The WebGPU device layer on the drivers a GPU-less machine has:
 *  - Dawn's null backend: WGSL compiles, pipelines validate, errors surface.
 *  - SwiftShader (Vulkan on the CPU): shaders run and match the CPU.
 *  - llvmpipe (Mesa, OpenGL ES, compatibility level): same, when available.
 * Each driver group acquires one device and destroys it in afterAll, so the
 * worker process exits. Run in vitest's default `forks` pool: in `threads`,
 * environment variables set by createNodeGpu do not reach the drivers.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AcquiredDevice,
  GpuDeviceLostError,
  GpuError,
  acquireDevice,
  checkLimits,
  describeAdapter,
  isSoftwareAdapter,
  limitShortfalls,
  settleAll,
} from '../src/gpu/device.js';
import {
  type NodeGpu,
  type NodeGpuKind,
  createNodeGpu,
  openNodeDevice,
  parseNodeGpuKind,
} from '../src/gpu/node.js';
import { readBuffer, withErrorScope } from '../src/gpu/readback.js';
import { missing, required } from './helpers/require.js';

const SMOKE_WGSL = readFileSync(new URL('../shaders/smoke.wgsl', import.meta.url), 'utf8');

/** CI must not silently skip the execution tests (tests/helpers/require.ts). */
const REQUIRE_SWIFTSHADER = required();

// ---------------------------------------------------------------- host side of smoke.wgsl

interface SmokeParams {
  a: number;
  b: number;
  n: number;
  steps?: number;
  cells?: number;
}

/** Params is { a: f32, b: f32, n: u32, steps: u32, cells: u32 }: 20 bytes, padded to 32 (align 16 for uniforms). */
function packParams(p: SmokeParams): ArrayBuffer {
  const buf = new ArrayBuffer(32);
  const f = new Float32Array(buf);
  const u = new Uint32Array(buf);
  f[0] = p.a;
  f[1] = p.b;
  u[2] = p.n;
  u[3] = p.steps ?? 0;
  u[4] = p.cells ?? 0;
  return buf;
}

interface Smoke {
  layout: GPUBindGroupLayout;
  axpb: GPUComputePipeline;
  iterate: GPUComputePipeline;
  workgroupSize: number;
}

async function buildSmoke(device: GPUDevice, workgroupSize = 64): Promise<Smoke> {
  return withErrorScope(
    device,
    async () => {
      const module = device.createShaderModule({ label: 'smoke.wgsl', code: SMOKE_WGSL });
      const layout = device.createBindGroupLayout({
        label: 'smoke',
        entries: [
          { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
          { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
          { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
        ],
      });
      const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
      const make = (entryPoint: string) =>
        device.createComputePipelineAsync({
          label: `smoke ${entryPoint}`,
          layout: pipelineLayout,
          compute: { module, entryPoint, constants: { WORKGROUP_SIZE: workgroupSize } },
        });
      // settleAll, not Promise.all: no pipeline may still be compiling when the error scope closes.
      const [axpb, iterate] = await settleAll([make('axpb'), make('iterate')]);
      return { layout, axpb, iterate, workgroupSize };
    },
    'building smoke.wgsl',
  );
}

function storage(device: GPUDevice, label: string, data: Float32Array): GPUBuffer {
  const buf = device.createBuffer({
    label,
    size: Math.max(4, data.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buf, 0, data);
  return buf;
}

/** y = a*x + b on the GPU. */
async function gpuAxpb(gpu: AcquiredDevice, smoke: Smoke, x: Float32Array, a: number, b: number): Promise<Float32Array> {
  const { device } = gpu;
  const n = x.length;
  const params = device.createBuffer({ label: 'params', size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(params, 0, packParams({ a, b, n }));
  const xb = storage(device, 'x', x);
  const yb = storage(device, 'y', new Float32Array(n));
  try {
    await withErrorScope(
      device,
      () => {
        const bind = device.createBindGroup({
          layout: smoke.layout,
          entries: [params, xb, yb].map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(smoke.axpb);
        pass.setBindGroup(0, bind);
        pass.dispatchWorkgroups(Math.ceil(n / smoke.workgroupSize));
        pass.end();
        device.queue.submit([enc.finish()]);
      },
      'dispatching axpb',
    );
    return await readBuffer(device, yb, Float32Array);
  } finally {
    for (const b of [params, xb, yb]) b.destroy();
  }
}

/** `dispatches` dispatches of `steps` sweeps over lattices of `cells` cells: y <- a*y + b, in place. */
async function gpuIterate(
  gpu: AcquiredDevice,
  smoke: Smoke,
  y0: Float32Array,
  p: { a: number; b: number; steps: number; cells: number; dispatches: number },
): Promise<Float32Array> {
  const { device } = gpu;
  const n = y0.length;
  const lattices = n / p.cells;
  const params = device.createBuffer({ label: 'params', size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(params, 0, packParams({ a: p.a, b: p.b, n, steps: p.steps, cells: p.cells }));
  const xb = storage(device, 'x (unused)', new Float32Array(1));
  const yb = storage(device, 'y', y0);
  try {
    await withErrorScope(
      device,
      () => {
        const bind = device.createBindGroup({
          layout: smoke.layout,
          entries: [params, xb, yb].map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
        const enc = device.createCommandEncoder();
        // One pass per dispatch, as the engine will split its time loop.
        for (let d = 0; d < p.dispatches; d++) {
          const pass = enc.beginComputePass();
          pass.setPipeline(smoke.iterate);
          pass.setBindGroup(0, bind);
          pass.dispatchWorkgroups(Math.ceil(lattices / smoke.workgroupSize));
          pass.end();
        }
        device.queue.submit([enc.finish()]);
      },
      'dispatching iterate',
    );
    return await readBuffer(device, yb, Float32Array);
  } finally {
    for (const b of [params, xb, yb]) b.destroy();
  }
}

// ---------------------------------------------------------------- setup per driver

interface Driver {
  node?: NodeGpu;
  gpu?: AcquiredDevice;
  skipReason?: string;
  timings: Record<string, number>;
}

async function openDriver(kind: NodeGpuKind): Promise<Driver> {
  const timings: Record<string, number> = {};
  let t = performance.now();
  const node = await createNodeGpu(kind);
  timings.instanceAndAdapterMs = performance.now() - t;
  t = performance.now();
  const gpu = await acquireDevice(node.gpu, { ...node.acquireOptions, label: `test ${kind}` });
  timings.deviceMs = performance.now() - t;
  return { node, gpu, timings };
}

/** Destroying the device is all the cleanup Node needs (createNodeGpu keeps Dawn's instance alive on purpose). */
function closeDriver(d: Driver): void {
  d.gpu?.destroy();
}

function ms(x: number | undefined): string {
  return x === undefined ? '-' : `${x.toFixed(0)} ms`;
}

// ---------------------------------------------------------------- pure helpers

describe('device layer helpers (no GPU)', () => {
  const limits = { limits: { maxStorageBufferBindingSize: 134217728, minStorageBufferOffsetAlignment: 256 } as unknown as GPUSupportedLimits };

  it('checkLimits names every shortfall in one line, like quitIfLimitLessThan', () => {
    expect(() => checkLimits(limits, { maxStorageBufferBindingSize: 134217728, minStorageBufferOffsetAlignment: 256 })).not.toThrow();
    let err: unknown;
    try {
      checkLimits(limits, { maxStorageBufferBindingSize: 268435456, minStorageBufferOffsetAlignment: 64 }, 'SwiftShader');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GpuError);
    expect((err as Error).message).toBe(
      'SwiftShader cannot run this: maxStorageBufferBindingSize is 134217728, needs at least 268435456; minStorageBufferOffsetAlignment is 256, needs at most 64',
    );
    expect(limitShortfalls(limits, { maxComputeWorkgroupSizeX: 1 })).toEqual([
      'maxComputeWorkgroupSizeX is not a limit this WebGPU implementation knows',
    ]);
  });

  it('acquireDevice without a GPU object says so', async () => {
    await expect(acquireDevice(undefined)).rejects.toThrow(/^WebGPU is not available here \(no navigator\.gpu\)/);
  });

  it('acquireDevice with no adapter gives the hint on one line', async () => {
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await expect(acquireDevice(noAdapter, { noAdapterHint: 'install libvulkan1' })).rejects.toThrow(
      /^no WebGPU adapter: install libvulkan1$/,
    );
  });

  it('parses --adapter values and recognises software adapters', () => {
    expect(parseNodeGpuKind(' SwiftShader ')).toBe('swiftshader');
    expect(() => parseNodeGpuKind('cuda')).toThrow("unknown adapter 'cuda': use one of auto, vulkan, swiftshader, llvmpipe, null");
    const base = { vendor: '', architecture: '', device: '', description: '' };
    expect(isSoftwareAdapter({ ...base, description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6', device: 'llvmpipe-llvm-15' })).toBe(true);
    expect(isSoftwareAdapter({ ...base, vendor: 'nvidia', description: 'NVIDIA H200' })).toBe(false);
    expect(describeAdapter({ ...base, description: 'SwiftShader driver 5.0.0', vendor: 'google', architecture: 'swiftshader', backend: 'vulkan', featureLevel: 'core', isFallback: true })).toBe(
      'SwiftShader driver 5.0.0 [google swiftshader, vulkan, core, fallback]',
    );
  });
});

// ---------------------------------------------------------------- null backend: validation only

describe("Dawn's null backend (validation only)", () => {
  let d: Driver;
  beforeAll(async () => {
    d = await openDriver('null');
  });
  afterAll(() => closeDriver(d));

  it('reports the null adapter', () => {
    expect(d.node!.kind).toBe('null');
    expect(d.gpu!.adapterInfo).toMatchObject({ device: 'null-backend', backend: 'null', featureLevel: 'core' });
    expect(d.gpu!.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
  });

  it('smoke.wgsl compiles without messages and both pipelines build with no validation error', async () => {
    const { device } = d.gpu!;
    const module = device.createShaderModule({ code: SMOKE_WGSL });
    const info = await module.getCompilationInfo();
    expect(info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`)).toEqual([]);
    for (const wg of [32, 64, 256]) {
      const smoke = await buildSmoke(device, wg);
      expect(smoke.axpb.label).toBe('smoke axpb');
      expect(smoke.iterate.label).toBe('smoke iterate');
    }
    d.gpu!.throwIfUncapturedErrors();
  });

  it('broken WGSL gives a compilation error with position (getCompilationInfo)', async () => {
    const { device } = d.gpu!;
    const broken = SMOKE_WGSL.replace('return params.a * v + params.b;', 'return params.a * v + params.c;');
    let info!: GPUCompilationInfo;
    await expect(
      withErrorScope(
        device,
        async () => {
          const module = device.createShaderModule({ label: 'broken smoke', code: broken });
          info = await module.getCompilationInfo();
        },
        'compiling broken smoke.wgsl',
      ),
    ).rejects.toThrow(/^compiling broken smoke\.wgsl: WebGPU validation error: .*/);
    const errors = info.messages.filter((m) => m.type === 'error');
    expect(errors).toHaveLength(1);
    const line = SMOKE_WGSL.split('\n').findIndex((l) => l.includes('return params.a * v + params.b;')) + 1;
    expect(errors[0].lineNum).toBe(line);
    expect(errors[0].message).toBe("struct member c not found");
  });

  it('an overriding workgroup size above the device limit fails pipeline creation with a clear message', async () => {
    const { device } = d.gpu!;
    const tooBig = d.gpu!.limits.maxComputeInvocationsPerWorkgroup * 2;
    const built = buildSmoke(device, tooBig);
    await expect(built).rejects.toThrow(GpuError);
    await expect(built).rejects.toThrow(
      /^building smoke\.wgsl: WebGPU pipeline validation error: Entry-point uses workgroup_size\(512, 1, 1\) that exceeds the maximum allowed/,
    );
  });

  it('withErrorScope throws the validation message; uncaptured errors are recorded and reported in one line', async () => {
    const { device } = d.gpu!;
    const bad = { size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE };
    await expect(withErrorScope(device, () => device.createBuffer(bad), 'making a bad buffer')).rejects.toThrow(
      /^making a bad buffer: WebGPU validation error: Buffer usages .* is invalid\./,
    );
    device.createBuffer(bad);
    await device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 20));
    expect(d.gpu!.uncapturedErrors.length).toBe(1);
    expect(() => d.gpu!.throwIfUncapturedErrors()).toThrow(/^WebGPU validation error: Buffer usages/);
    expect(d.gpu!.uncapturedErrors.length).toBe(0);
  });

  it('readBuffer refuses a buffer without COPY_SRC', async () => {
    const { device } = d.gpu!;
    const buf = device.createBuffer({ label: 'y', size: 16, usage: GPUBufferUsage.STORAGE });
    await expect(readBuffer(device, buf, Float32Array)).rejects.toThrow(
      'reading back y: the buffer was not created with GPUBufferUsage.COPY_SRC',
    );
    buf.destroy();
  });

  it('destroying the device rejects pending work with a clear message', async () => {
    const other = await acquireDevice(d.node!.gpu, d.node!.acquireOptions);
    const buf = other.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ });
    const pending = other.guard(buf.mapAsync(GPUMapMode.READ), 'reading back y');
    other.destroy();
    await expect(pending).rejects.toThrow(GpuDeviceLostError);
    await expect(pending).rejects.toThrow('reading back y: GPU device was destroyed; its pending work was abandoned');
    expect((await other.lost).reason).toBe('destroyed');
    // Later work fails the same way instead of hanging.
    await expect(other.guard(Promise.resolve(1), 'later')).rejects.toThrow(/^later: GPU device was destroyed/);
  });
});

describe('openNodeDevice / close', () => {
  it('opens a null-backend device on the cached instance; close() destroys the device', async () => {
    const gpu = await openNodeDevice('null');
    expect(gpu.node.name).toMatch(/null-backend.* via null$/);
    const again = await createNodeGpu('null');
    expect(again.gpu).toBe(gpu.node.gpu);
    gpu.close();
    expect((await gpu.lost).reason).toBe('destroyed');
  });
});

// ---------------------------------------------------------------- execution on software adapters

function executionSuite(kind: 'swiftshader' | 'llvmpipe', title: string, unavailable: () => string | undefined) {
  describe(title, () => {
    const d: Driver = { timings: {} };
    let smoke: Smoke | undefined;

    beforeAll(async () => {
      const why = unavailable();
      if (why) {
        d.skipReason = why;
      } else {
        try {
          Object.assign(d, await openDriver(kind));
        } catch (e) {
          if (kind === 'swiftshader' && REQUIRE_SWIFTSHADER) throw e;
          d.skipReason = `${kind} unavailable: ${(e as Error).message}`;
        }
      }
      if (d.skipReason) {
        console.warn(`[gpu-device] skipping ${title}: ${d.skipReason}`);
        return;
      }
      const t = performance.now();
      smoke = await buildSmoke(d.gpu!.device);
      d.timings.firstPipelinesMs = performance.now() - t;
    });

    afterAll(() => {
      if (d.gpu) {
        console.log(
          `[gpu-device] ${d.node!.name}: instance+adapter ${ms(d.timings.instanceAndAdapterMs)}, device ${ms(d.timings.deviceMs)}, ` +
            `first shader module + 2 pipelines ${ms(d.timings.firstPipelinesMs)}, axpb 1e5 ${ms(d.timings.axpbMs)}, ` +
            `iterate ${ms(d.timings.iterateMs)}`,
        );
      }
      closeDriver(d);
    });

    it('reports the adapter it got', (ctx) => {
      if (d.skipReason) ctx.skip(d.skipReason);
      const info = d.gpu!.adapterInfo;
      if (kind === 'swiftshader') {
        expect(info).toMatchObject({ vendor: 'google', architecture: 'swiftshader', backend: 'vulkan', featureLevel: 'core', isFallback: true });
      } else {
        expect(info.device).toMatch(/llvmpipe/);
        expect(info).toMatchObject({ backend: 'opengles', featureLevel: 'compatibility' });
      }
      expect(isSoftwareAdapter(info)).toBe(true);
    });

    it('axpb on 1e5 elements matches the CPU to f32 precision', async (ctx) => {
      if (d.skipReason) ctx.skip(d.skipReason);
      const n = 100_000;
      const a = 1.7;
      const b = -0.3;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.001) * 1000 + i * 1e-3;
      const t = performance.now();
      const y = await gpuAxpb(d.gpu!, smoke!, x, a, b);
      d.timings.axpbMs = performance.now() - t;
      expect(y.length).toBe(n);
      const af = Math.fround(a);
      const bf = Math.fround(b);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const cpu = Math.fround(Math.fround(af * x[i]) + bf); // unfused f32
        const scale = Math.max(Math.abs(af * x[i]), Math.abs(bf));
        // a fused multiply-add may differ by one rounding of the product
        worst = Math.max(worst, Math.abs(y[i] - cpu) / scale);
      }
      expect(worst).toBeLessThanOrEqual(2 ** -23);
      d.gpu!.throwIfUncapturedErrors();
    });

    it('iterate: 4 dispatches of 300 steps x 128 cells (38,400 loop iterations per invocation each) are exact', async (ctx) => {
      if (d.skipReason) ctx.skip(d.skipReason);
      const cells = 128;
      const lattices = 64;
      const steps = 300;
      const dispatches = 4;
      const y0 = new Float32Array(cells * lattices);
      for (let i = 0; i < y0.length; i++) y0[i] = i;
      const t = performance.now();
      const y = await gpuIterate(d.gpu!, smoke!, y0, { a: 1, b: 0.5, steps, cells, dispatches });
      d.timings.iterateMs = performance.now() - t;
      // a = 1, b = 0.5: every step adds 0.5 exactly (all values are small multiples of 0.5).
      const expected = y0.map((v) => v + 0.5 * steps * dispatches);
      expect(Array.from(y)).toEqual(Array.from(expected));
      d.gpu!.throwIfUncapturedErrors();
    });
  });
}

executionSuite('swiftshader', 'SwiftShader (Vulkan on the CPU)', () =>
  // required (CI): no skip reason, so that createNodeGpu fails loudly
  REQUIRE_SWIFTSHADER ? undefined : missing('swiftshader'),
);

executionSuite('llvmpipe', 'llvmpipe (Mesa via OpenGL ES, compatibility)', () => undefined);
