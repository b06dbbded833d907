/// <reference types="@webgpu/types" />
/**
 * Node-only entry to WebGPU: builds a `GPU` object from Dawn (the `webgpu`
 * npm package) on a chosen driver. Engine code never imports this file; the
 * CLI and tests do, and hand the `gpu` to `acquireDevice` (device.ts) exactly
 * as a page hands over `navigator.gpu`.
 *
 * Drivers (docs/gpu.md; the README says how to install them):
 * - vulkan:      the system's Vulkan driver (a real GPU).
 * - swiftshader: SwiftShader's Vulkan ICD shipped with Debian's chromium; full
 *                "core" WebGPU on the CPU. Needs VK_ICD_FILENAMES before the
 *                instance is created (set here if unset).
 * - llvmpipe:    Mesa through Dawn's OpenGL ES backend, compatibility feature
 *                level; needs EGL_PLATFORM=surfaceless (set here if unset).
 *                One invocation may run at most 65,535 loop iterations in
 *                all (each loop's exit test counts as one): past that the
 *                loops are cut short and results are silently wrong.
 * - null:        Dawn's null backend: compiles WGSL and validates pipelines,
 *                executes nothing (results read back as garbage/zeros).
 * - auto:        vulkan if it yields a hardware adapter, else swiftshader,
 *                else llvmpipe.
 *
 * Environment variables are read by the drivers through the C environment:
 * set them (or let this module set them) in the main thread before the
 * instance is created; a worker thread's process.env never reaches them.
 * Dawn instances are cached and never released (see `instances`).
 *
 * @example
 * ```ts
 * const node = await createNodeGpu('auto');
 * const gpu = await acquireDevice(node.gpu, node.acquireOptions);
 * console.log(node.name);
 * // ... work ...
 * gpu.destroy(); // all the cleanup Node needs to exit
 * ```
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import {
  type AcquireOptions,
  type AcquiredDevice,
  type AdapterSummary,
  type FeatureLevel,
  GpuError,
  acquireDevice,
  describeAdapter,
  isSoftwareAdapter,
} from './device.js';

export type NodeGpuKind = 'auto' | 'vulkan' | 'swiftshader' | 'llvmpipe' | 'null';
export const NODE_GPU_KINDS: readonly NodeGpuKind[] = ['auto', 'vulkan', 'swiftshader', 'llvmpipe', 'null'];

/** Where Debian's chromium package puts SwiftShader's Vulkan ICD. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export const NO_ADAPTER_HINT =
  'install libvulkan1 and chromium (for SwiftShader) or libegl1 libegl-mesa0 libgles2 and run with --adapter llvmpipe';

export interface NodeGpu {
  /** Pass to acquireDevice. */
  readonly gpu: GPU;
  /** The driver actually used. */
  kind: Exclude<NodeGpuKind, 'auto'>;
  /** Human-readable: "SwiftShader driver 5.0.0 [google swiftshader, vulkan, core, fallback] via swiftshader". */
  name: string;
  /** The adapter the probe found (acquireDevice will find the same one). */
  adapterInfo: AdapterSummary;
  /** Options that make acquireDevice request the same adapter (feature level, backend label, hint). */
  acquireOptions: AcquireOptions;
}

export interface NodeGpuOptions {
  /** SwiftShader ICD path (default SWIFTSHADER_ICD). */
  swiftshaderIcd?: string;
  /** Extra dawn.node flags, e.g. 'enable-dawn-features=dump_shaders'. */
  dawnFlags?: string[];
}

type WebgpuModule = { create(flags: string[]): GPU; globals: object };

let webgpuModule: Promise<WebgpuModule> | undefined;

/**
 * Every Dawn instance made here, kept for the life of the process, one per
 * driver and set of flags. With webgpu 0.6.2, letting an instance be garbage-collected
 * while an adapter or device made from it is still reachable crashes the
 * process (SIGSEGV, "tpp.c: __pthread_tpp_change_priority" abort) or hangs
 * it, so the node-webgpu README's `delete navigator.gpu` advice is unsafe.
 * A live instance does not keep Node from exiting: destroying devices is all
 * the cleanup a CLI or test needs.
 */
const instances = new Map<string, GPU>();

/** The `webgpu` package, imported once, its globals (GPUBufferUsage, GPUMapMode, ...) installed where missing. */
async function loadWebgpu(): Promise<WebgpuModule> {
  webgpuModule ??= (async () => {
    let mod: WebgpuModule;
    try {
      mod = (await import('webgpu')) as unknown as WebgpuModule;
    } catch (e) {
      webgpuModule = undefined;
      const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
      throw new GpuError(`cannot load Dawn for Node (the webgpu package): ${msg}; install it with npm install webgpu (an optional dependency)`);
    }
    const g = globalThis as Record<string, unknown>;
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in g)) g[k] = v;
    return mod;
  })();
  return webgpuModule;
}

/** Environment every driver needs; call before the first instance is created. */
function prepareEnv(): void {
  // Mesa / the Vulkan loader warn without it; any writable directory will do.
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `cait-xdg-${process.getuid?.() ?? 'user'}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
}

interface Route {
  kind: Exclude<NodeGpuKind, 'auto'>;
  flags: string[];
  backend: string;
  featureLevel: FeatureLevel;
}

/**
 * Set up the environment for `kind` and return the dawn flags, or a one-line
 * reason it cannot work here.
 */
function routeFor(kind: Exclude<NodeGpuKind, 'auto'>, opts: NodeGpuOptions): Route | string {
  const extra = opts.dawnFlags ?? [];
  switch (kind) {
    case 'vulkan': {
      // Elsewhere Dawn's default native backend (Metal, D3D12) stands in for Vulkan.
      const linux = process.platform === 'linux';
      const backend = linux ? 'vulkan' : process.platform === 'darwin' ? 'metal' : process.platform === 'win32' ? 'd3d12' : 'native';
      return { kind, flags: [...(linux ? ['backend=vulkan'] : []), ...extra], backend, featureLevel: 'core' };
    }
    case 'swiftshader': {
      const icd = opts.swiftshaderIcd ?? SWIFTSHADER_ICD;
      const preset = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
      if (!preset) {
        if (!existsSync(icd)) return `SwiftShader's Vulkan driver is missing (${icd}): install chromium and libvulkan1`;
        if (!isMainThread) return `set VK_ICD_FILENAMES=${icd} before starting Node (a worker thread cannot change the environment drivers see)`;
        // Read by the Vulkan loader when Dawn creates its instance: must be set before create().
        process.env.VK_ICD_FILENAMES = icd;
      }
      return { kind, flags: ['backend=vulkan', ...extra], backend: 'vulkan', featureLevel: 'core' };
    }
    case 'llvmpipe':
      // Read by libEGL when Dawn discovers GLES adapters: must be set before requestAdapter().
      if (!process.env.EGL_PLATFORM && !isMainThread) {
        return 'set EGL_PLATFORM=surfaceless before starting Node (a worker thread cannot change the environment drivers see)';
      }
      process.env.EGL_PLATFORM ??= 'surfaceless';
      return { kind, flags: ['backend=opengles', ...extra], backend: 'opengles', featureLevel: 'compatibility' };
    case 'null':
      return { kind, flags: ['backend=null', ...extra], backend: 'null', featureLevel: 'core' };
  }
}

async function probe(mod: WebgpuModule, route: Route): Promise<{ gpu: GPU; info: AdapterSummary } | string> {
  // vulkan and swiftshader share flags but not environments: key on the route too.
  const key = [route.kind, ...route.flags].join('\n');
  let gpu = instances.get(key);
  try {
    gpu ??= mod.create(route.flags);
    instances.set(key, gpu);
  } catch (e) {
    return `Dawn rejected flags ${route.flags.join(' ')}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
  let adapter: GPUAdapter | null = null;
  try {
    const ro: GPURequestAdapterOptions & { featureLevel?: string } = { featureLevel: route.featureLevel };
    if (route.kind === 'vulkan') ro.powerPreference = 'high-performance';
    adapter = await gpu.requestAdapter(ro);
  } catch (e) {
    return `requestAdapter failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
  if (!adapter) return 'no adapter';
  const i = adapter.info;
  const info: AdapterSummary = {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    backend: route.backend,
    featureLevel:
      route.featureLevel === 'core' || adapter.features.has('core-features-and-limits' as GPUFeatureName) ? 'core' : 'compatibility',
  };
  const fb = (i as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  if (fb !== undefined) info.isFallback = fb;
  return { gpu, info };
}

const WHY_NOT: Record<Exclude<NodeGpuKind, 'auto'>, string> = {
  vulkan: 'no Vulkan GPU adapter (is a GPU driver with Vulkan support installed, and libvulkan1?)',
  swiftshader: 'no SwiftShader adapter (needs chromium and libvulkan1; VK_ICD_FILENAMES/VK_DRIVER_FILES, if set, must point at it)',
  llvmpipe: 'no llvmpipe adapter (needs libegl1 libegl-mesa0 libgles2 and EGL_PLATFORM=surfaceless)',
  null: "Dawn's null backend gave no adapter",
};

/**
 * A WebGPU `GPU` object from Dawn on the driver `kind` (default 'auto').
 * Sets XDG_RUNTIME_DIR, VK_ICD_FILENAMES (swiftshader) and EGL_PLATFORM
 * (llvmpipe) when unset, before the instance is created. Rejects with a
 * one-line GpuError when the driver is not there.
 */
export async function createNodeGpu(kind: NodeGpuKind = 'auto', opts: NodeGpuOptions = {}): Promise<NodeGpu> {
  prepareEnv();
  const mod = await loadWebgpu();
  const order: Exclude<NodeGpuKind, 'auto'>[] = kind === 'auto' ? ['vulkan', 'swiftshader', 'llvmpipe'] : [kind];
  const tried: string[] = [];
  for (const k of order) {
    const route = routeFor(k, opts);
    if (typeof route === 'string') {
      tried.push(`${k}: ${route}`);
      continue;
    }
    const got = await probe(mod, route);
    if (typeof got === 'string') {
      tried.push(`${k}: ${got === 'no adapter' ? WHY_NOT[k] : got}`);
      continue;
    }
    if (k === 'swiftshader' && !/swiftshader/i.test(`${got.info.description} ${got.info.architecture}`)) {
      tried.push(
        `swiftshader: VK_ICD_FILENAMES/VK_DRIVER_FILES is set and gave ${got.info.description || 'another adapter'}; unset it to use ${opts.swiftshaderIcd ?? SWIFTSHADER_ICD}`,
      );
      continue;
    }
    if (kind === 'auto' && k === 'vulkan' && isSoftwareAdapter(got.info)) {
      // A CPU Vulkan driver: let the explicit software routes decide (they are named in the report).
      tried.push(`vulkan: only a software adapter (${got.info.description})`);
      continue;
    }
    return {
      gpu: got.gpu,
      kind: k,
      name: `${describeAdapter(got.info)} via ${k}`,
      adapterInfo: got.info,
      acquireOptions: {
        featureLevel: route.featureLevel,
        backend: route.backend,
        noAdapterHint: NO_ADAPTER_HINT,
        ...(k === 'vulkan' ? { powerPreference: 'high-performance' as const } : {}),
      },
    };
  }
  if (kind === 'auto') throw new GpuError(`no WebGPU adapter: ${NO_ADAPTER_HINT} (tried ${tried.join('; ')})`);
  throw new GpuError(tried[0] ?? `no WebGPU adapter for ${kind}`);
}

/** Parse a `--adapter` value, with the list of valid ones in the error. */
export function parseNodeGpuKind(value: string): NodeGpuKind {
  const v = value.trim().toLowerCase();
  if ((NODE_GPU_KINDS as readonly string[]).includes(v)) return v as NodeGpuKind;
  throw new GpuError(`unknown adapter '${value}': use one of ${NODE_GPU_KINDS.join(', ')}`);
}

/**
 * createNodeGpu + acquireDevice in one call, for CLIs and tests; `close()`
 * destroys the device (the Dawn instance stays, see `instances`).
 *
 * @example
 * ```ts
 * const gpu = await openNodeDevice('auto', { needs: { maxStorageBufferBindingSize: 64 << 20 } });
 * try { ... } finally { gpu.close(); }
 * ```
 */
export async function openNodeDevice(
  kind: NodeGpuKind = 'auto',
  opts: NodeGpuOptions & AcquireOptions = {},
): Promise<AcquiredDevice & { node: NodeGpu; close(): void }> {
  const node = await createNodeGpu(kind, opts);
  const acquired = await acquireDevice(node.gpu, { ...node.acquireOptions, ...opts, backend: node.acquireOptions.backend });
  return Object.assign(acquired, {
    node,
    close() {
      acquired.destroy();
    },
  });
}
