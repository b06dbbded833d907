/// <reference types="@webgpu/types" />
/**
 * WebGPU device acquisition for the ensemble engine.
 *
 * This module is platform-neutral: it imports nothing from Node and works on
 * any `GPU` object — `navigator.gpu` in a browser, or the one `createNodeGpu`
 * (src/gpu/node.ts) builds from Dawn in Node.
 *
 * @example
 * ```ts
 * const gpu = await acquireDevice(navigator.gpu, { needs: { maxStorageBufferBindingSize: 64 << 20 } });
 * console.log(describeAdapter(gpu.adapterInfo));
 * // ... encode, submit, `await gpu.guard(buffer.mapAsync(GPUMapMode.READ), 'readback')`
 * gpu.destroy();
 * ```
 */

export type FeatureLevel = 'core' | 'compatibility';

/** One-line, user-facing failure of the GPU layer (no adapter, limits too low, validation, loss). */
export class GpuError extends Error {
  /** Full multi-line text from the implementation, when there is one (e.g. Dawn's "While calling ..." trail). */
  readonly detail?: string;
  constructor(message: string, detail?: string) {
    super(oneLine(message));
    this.name = 'GpuError';
    if (detail !== undefined) this.detail = detail;
  }
}

/** The device was lost (driver reset, out of memory, or destroyed) while work was pending or afterwards. */
export class GpuDeviceLostError extends GpuError {
  readonly reason: GPUDeviceLostReason;
  /** `what` names the work that was pending ("reading back y"), when there was some. */
  constructor(reason: GPUDeviceLostReason, message: string, what?: string) {
    const text =
      reason === 'destroyed'
        ? 'GPU device was destroyed; its pending work was abandoned'
        : `GPU device lost${message ? `: ${firstLine(message)}` : ''} (the driver reset or ran out of memory; acquire a new device and retry)`;
    super(what ? `${what}: ${text}` : text, message || undefined);
    this.name = 'GpuDeviceLostError';
    this.reason = reason;
  }
}

/** What an adapter says about itself, plus what only the host knows (backend). */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** 'vulkan', 'opengles', 'null', ... — known in Node (from createNodeGpu), not reported by browsers. */
  backend?: string;
  /** The feature level the device was created with. */
  featureLevel: FeatureLevel;
  /** A fallback (software / reduced-performance) adapter, where the implementation says so. */
  isFallback?: boolean;
}

/** Names of numeric GPU limits (maxStorageBufferBindingSize, minStorageBufferOffsetAlignment, ...). */
export type LimitName = Exclude<
  { [K in keyof GPUSupportedLimits]-?: GPUSupportedLimits[K] extends number ? K : never }[keyof GPUSupportedLimits],
  undefined
>;

/** The limits the ensemble engine asks the adapter's most of (AcquireOptions.adapterLimits). */
export const ENSEMBLE_LIMITS: readonly LimitName[] = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
];

/** Limits an engine needs: for `max*` limits the least it needs, for `min*Alignment` limits the largest alignment it can live with. */
export type LimitNeeds = Partial<Record<LimitName, number>>;

export interface AcquireOptions {
  /** Requested feature level (default 'core'). With 'compatibility' the device is still made core when the adapter can. */
  featureLevel?: FeatureLevel;
  powerPreference?: GPUPowerPreference;
  forceFallbackAdapter?: boolean;
  requiredFeatures?: GPUFeatureName[];
  /** Checked on the adapter with `checkLimits` (clear message when short), then requested as requiredLimits. */
  needs?: LimitNeeds;
  /**
   * Limits requested at the adapter's own value, the most it grants (default ENSEMBLE_LIMITS: the ensemble
   * engine sizes its batches and workgroups from what was granted; the WebGPU defaults would cap a batch
   * at 128 MiB of state). [] keeps the defaults.
   */
  adapterLimits?: readonly LimitName[];
  /** Reported in adapterInfo.backend (browsers do not tell). */
  backend?: string;
  label?: string;
  /** Appended to the "no WebGPU adapter" message: how to get one on this platform. */
  noAdapterHint?: string;
  /** Called for each uncaptured error (after it is recorded). Default: console.error, one line. */
  onUncapturedError?: (error: GPUError) => void;
  /** Called once when the device is lost for any reason other than our own destroy(). Default: console.error. */
  onLost?: (error: GpuDeviceLostError) => void;
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapter: GPUAdapter;
  adapterInfo: AdapterSummary;
  /** Snapshot of the device's limits. */
  limits: Readonly<Record<LimitName, number>>;
  /** Resolves with the loss error when the device is lost or destroyed. */
  lost: Promise<GpuDeviceLostError>;
  /** null while the device is usable. */
  readonly lostError: GpuDeviceLostError | null;
  /** Uncaptured errors so far (validation / out-of-memory / internal outside any error scope). */
  readonly uncapturedErrors: readonly GPUError[];
  /** Throws a GpuError if an uncaptured error happened (then clears the list). */
  throwIfUncapturedErrors(): void;
  /** `work`, but rejected with a clear GpuDeviceLostError if the device is lost before it settles. */
  guard<T>(work: Promise<T>, what?: string): Promise<T>;
  /** Destroy the device: pending maps are rejected, buffers freed. Idempotent. */
  destroy(): void;
}

interface DeviceWatch {
  lostError: GpuDeviceLostError | null;
  lost: Promise<GpuDeviceLostError>;
  uncaptured: GPUError[];
  /** Rejecters of guarded work still in flight. */
  pending: Set<(err: GpuDeviceLostError) => void>;
}

const watches = new WeakMap<GPUDevice, DeviceWatch>();

/**
 * Race GPU work against loss of the device it runs on. Works for any device
 * that went through `acquireDevice` / `watchDevice`; other devices pass through.
 */
export function guardWork<T>(device: GPUDevice, work: Promise<T>, what = 'GPU work'): Promise<T> {
  const w = watches.get(device);
  if (!w) return work;
  if (w.lostError) {
    work.catch(() => undefined);
    return Promise.reject(withWhat(w.lostError, what));
  }
  return new Promise<T>((resolve, reject) => {
    const onLost = (err: GpuDeviceLostError) => reject(withWhat(err, what));
    w.pending.add(onLost);
    work.then(
      (v) => {
        w.pending.delete(onLost);
        resolve(v);
      },
      (e: unknown) => {
        w.pending.delete(onLost);
        // Dawn rejects maps on a destroyed device with an empty message: say why.
        reject(w.lostError ? withWhat(w.lostError, what) : e);
      },
    );
  });
}

function withWhat(err: GpuDeviceLostError, what: string): GpuDeviceLostError {
  return new GpuDeviceLostError(err.reason, err.detail ?? '', what);
}

/**
 * Watch `device` for loss and uncaptured errors (idempotent). `acquireDevice`
 * does this; call it yourself for a device made elsewhere.
 */
export function watchDevice(
  device: GPUDevice,
  handlers: Pick<AcquireOptions, 'onUncapturedError' | 'onLost'> = {},
): DeviceWatch {
  const existing = watches.get(device);
  if (existing) return existing;
  const w: DeviceWatch = {
    lostError: null,
    uncaptured: [],
    pending: new Set(),
    lost: device.lost.then((info) => {
      const err = new GpuDeviceLostError(info.reason, info.message);
      w.lostError = err;
      for (const reject of w.pending) reject(err);
      w.pending.clear();
      if (info.reason !== 'destroyed') (handlers.onLost ?? ((e) => console.error(e.message)))(err);
      return err;
    }),
  };
  device.addEventListener('uncapturederror', (ev) => {
    const event = ev as GPUUncapturedErrorEvent;
    // Dawn (like browsers) prints the multi-line error itself unless the default is prevented.
    event.preventDefault();
    w.uncaptured.push(event.error);
    (handlers.onUncapturedError ?? ((e) => console.error(`WebGPU ${errorKind(e)} error: ${firstLine(e.message)}`)))(event.error);
  });
  watches.set(device, w);
  return w;
}

/**
 * Request an adapter and a device from `gpu`, check the limits the engine
 * needs, and watch the device for loss and uncaptured errors. Every failure
 * is a GpuError with a one-line message.
 */
export async function acquireDevice(gpu: GPU | undefined | null, opts: AcquireOptions = {}): Promise<AcquiredDevice> {
  if (!gpu) {
    throw new GpuError(
      'WebGPU is not available here (no navigator.gpu): use a browser with WebGPU enabled, or Node with the webgpu package',
    );
  }
  const requestedLevel: FeatureLevel = opts.featureLevel ?? 'core';
  let adapter: GPUAdapter | null;
  try {
    const ro: GPURequestAdapterOptions & { featureLevel?: string } = {};
    if (opts.featureLevel) ro.featureLevel = opts.featureLevel;
    if (opts.powerPreference) ro.powerPreference = opts.powerPreference;
    if (opts.forceFallbackAdapter) ro.forceFallbackAdapter = true;
    adapter = await gpu.requestAdapter(ro);
  } catch (e) {
    throw new GpuError(`requesting a WebGPU adapter failed: ${firstLine(errMessage(e))}`, errMessage(e));
  }
  if (!adapter) {
    throw new GpuError(`no WebGPU adapter${opts.noAdapterHint ? `: ${opts.noAdapterHint}` : ''}`);
  }

  const info = adapterInfoOf(adapter);
  const canCore = requestedLevel === 'core' || adapter.features.has('core-features-and-limits' as GPUFeatureName);
  const featureLevel: FeatureLevel = canCore ? 'core' : 'compatibility';
  const adapterInfo: AdapterSummary = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    featureLevel,
  };
  if (opts.backend !== undefined) adapterInfo.backend = opts.backend;
  const fallback = info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  if (fallback !== undefined) adapterInfo.isFallback = fallback;
  const who = describeAdapter(adapterInfo);

  const required = new Set<GPUFeatureName>(opts.requiredFeatures ?? []);
  // A compatibility-mode request on an adapter that can do core: take core.
  if (requestedLevel === 'compatibility' && canCore) required.add('core-features-and-limits' as GPUFeatureName);
  const missing = [...required].filter((f) => !adapter.features.has(f));
  if (missing.length > 0) {
    throw new GpuError(`the WebGPU adapter ${who} lacks required feature(s) ${missing.join(', ')}`);
  }
  if (opts.needs) checkLimits(adapter, opts.needs, who);

  let device: GPUDevice;
  try {
    const desc: GPUDeviceDescriptor = { requiredFeatures: [...required] };
    const req: Record<string, number> = { ...(opts.needs ?? {}) };
    const granted = adapter.limits as unknown as Record<string, unknown>;
    for (const name of opts.adapterLimits ?? ENSEMBLE_LIMITS) {
      const v = granted[name];
      if (typeof v === 'number' && Number.isFinite(v)) req[name] = Math.max(req[name] ?? 0, v);
    }
    if (Object.keys(req).length) desc.requiredLimits = req;
    if (opts.label) desc.label = opts.label;
    device = await adapter.requestDevice(desc);
  } catch (e) {
    throw new GpuError(`creating a WebGPU device on ${who} failed: ${firstLine(errMessage(e))}`, errMessage(e));
  }

  const w = watchDevice(device, opts);
  return {
    device,
    adapter,
    adapterInfo,
    limits: limitsSnapshot(device.limits),
    lost: w.lost,
    get lostError() {
      return w.lostError;
    },
    get uncapturedErrors() {
      return w.uncaptured;
    },
    throwIfUncapturedErrors() {
      if (w.uncaptured.length === 0) return;
      const errs = w.uncaptured.splice(0);
      const first = errs[0];
      throw new GpuError(
        `WebGPU ${errorKind(first)} error${errs.length > 1 ? ` (and ${errs.length - 1} more)` : ''}: ${firstLine(first.message)}`,
        errs.map((e) => e.message).join('\n'),
      );
    },
    guard<T>(work: Promise<T>, what?: string) {
      return guardWork(device, work, what);
    },
    destroy() {
      device.destroy();
    },
  };
}

/**
 * Await every promise, then throw the first rejection (if any); like
 * Promise.all, but never returns while some of the work is still in flight.
 * Use it for groups of createComputePipelineAsync calls inside
 * `withErrorScope`: with Promise.all the scope can close while the other
 * pipelines are still compiling, and their errors then land outside it.
 */
export async function settleAll<T>(work: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(work);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/**
 * Throw a GpuError naming every limit of `source` (an adapter, a device, or
 * anything with `limits`) that falls short of `needs`, like webgpu-samples'
 * quitIfLimitLessThan. `max*` limits must be at least the need; `min*`
 * (alignment) limits at most the need.
 *
 * @example
 * ```ts
 * checkLimits(adapter, { maxStorageBufferBindingSize: 256 << 20, maxComputeWorkgroupSizeX: 128 });
 * ```
 */
export function checkLimits(source: { limits: GPUSupportedLimits }, needs: LimitNeeds, who = 'this GPU'): void {
  const short = limitShortfalls(source, needs);
  if (short.length === 0) return;
  throw new GpuError(`${who} cannot run this: ${short.join('; ')}`);
}

/** The shortfalls `checkLimits` would report, as phrases ("maxStorageBufferBindingSize is 134217728, needs at least 268435456"). */
export function limitShortfalls(source: { limits: GPUSupportedLimits }, needs: LimitNeeds): string[] {
  const out: string[] = [];
  const limits = source.limits as unknown as Record<string, unknown>;
  for (const [name, need] of Object.entries(needs) as [string, number | undefined][]) {
    if (need === undefined) continue;
    const have = limits[name];
    if (typeof have !== 'number') {
      out.push(`${name} is not a limit this WebGPU implementation knows`);
    } else if (name.startsWith('min')) {
      if (have > need) out.push(`${name} is ${have}, needs at most ${need}`);
    } else if (have < need) {
      out.push(`${name} is ${have}, needs at least ${need}`);
    }
  }
  return out;
}

/** All numeric limits of a GPUSupportedLimits as a plain object. */
export function limitsSnapshot(limits: GPUSupportedLimits): Record<LimitName, number> {
  const out: Record<string, number> = {};
  const src = limits as unknown as Record<string, unknown>;
  // WebIDL attributes live on the prototype (enumerable): for..in sees them.
  for (const key in limits) {
    const v = src[key];
    if (typeof v === 'number') out[key] = v;
  }
  return out as Record<LimitName, number>;
}

/** "SwiftShader driver 5.0.0 [google swiftshader, vulkan, core, fallback]" */
export function describeAdapter(info: AdapterSummary): string {
  const name = info.description || info.device || [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unnamed adapter';
  const tags = [
    [info.vendor, info.architecture].filter(Boolean).join(' '),
    info.backend,
    info.featureLevel,
    info.isFallback ? 'fallback' : undefined,
  ].filter((t): t is string => !!t);
  return tags.length ? `${name} [${tags.join(', ')}]` : name;
}

/** True for CPU / software adapters (SwiftShader, llvmpipe, lavapipe, WARP, ...). */
export function isSoftwareAdapter(info: Pick<AdapterSummary, 'vendor' | 'architecture' | 'device' | 'description' | 'isFallback'>): boolean {
  if (info.isFallback) return true;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  return /swiftshader|llvmpipe|lavapipe|softpipe|\bwarp\b|basic render|null-backend/i.test(text);
}

function adapterInfoOf(adapter: GPUAdapter): Partial<GPUAdapterInfo> {
  return (adapter as { info?: GPUAdapterInfo }).info ?? {};
}

function errorKind(e: GPUError): string {
  const name = e.constructor?.name ?? '';
  if (/OutOfMemory/i.test(name)) return 'out-of-memory';
  if (/Validation/i.test(name)) return 'validation';
  if (/Internal/i.test(name)) return 'internal';
  return 'device';
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '');
  return (line ?? s).trim();
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
