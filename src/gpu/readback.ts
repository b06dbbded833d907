/// <reference types="@webgpu/types" />
/**
 * Reading GPU buffers back, and error scopes that throw. Platform-neutral
 * (browser or Node), like device.ts.
 *
 * @example
 * ```ts
 * const pipeline = await withErrorScope(device, () => device.createComputePipelineAsync(desc), 'building axpb');
 * // ... dispatch ...
 * const y = await readBuffer(device, yBuffer, Float32Array);
 * ```
 */
import { GpuError, firstLine, guardWork } from './device.js';

// GPUBufferUsage / GPUMapMode bits, spelled out so this module works before
// (or without) the WebGPU globals being installed in Node.
const MAP_READ = 0x0001;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const MAP_MODE_READ = 0x0001;

/** Typed arrays a GPU buffer can be read into. */
export type ReadbackArray = Float32Array | Uint32Array | Int32Array | Uint8Array | Uint16Array | Int16Array | Float64Array;

export interface ReadbackArrayCtor<T extends ReadbackArray> {
  new (buffer: ArrayBuffer): T;
  readonly BYTES_PER_ELEMENT: number;
}

export interface ReadOptions {
  /** Byte offset into the source (multiple of 4; default 0). */
  offset?: number;
  /** Bytes to read (multiple of 4 and of the element size; default: rest of the buffer). */
  size?: number;
  /** Names the read in error messages (default: the buffer's label). */
  label?: string;
}

/**
 * Copy `source` (which needs COPY_SRC usage) into a fresh MAP_READ staging
 * buffer, map it, copy the bytes out into a new `ctor` array, unmap and
 * destroy the staging buffer. Rejects with a GpuError (or a
 * GpuDeviceLostError if the device goes away while waiting).
 *
 * @example
 * ```ts
 * const y = await readBuffer(device, yBuffer, Float32Array, { size: n * 4 });
 * ```
 */
export async function readBuffer<T extends ReadbackArray>(
  device: GPUDevice,
  source: GPUBuffer,
  ctor: ReadbackArrayCtor<T>,
  opts: ReadOptions = {},
): Promise<T> {
  const offset = opts.offset ?? 0;
  const size = opts.size ?? source.size - offset;
  const what = `reading back ${opts.label ?? (source.label || 'a GPU buffer')}`;
  if ((source.usage & COPY_SRC) === 0) {
    throw new GpuError(`${what}: the buffer was not created with GPUBufferUsage.COPY_SRC`);
  }
  if (offset < 0 || size < 0 || offset + size > source.size) {
    throw new GpuError(`${what}: bytes ${offset}..${offset + size} are outside the buffer's ${source.size} bytes`);
  }
  if (offset % 4 !== 0 || size % 4 !== 0 || size % ctor.BYTES_PER_ELEMENT !== 0) {
    throw new GpuError(`${what}: offset ${offset} and size ${size} must be multiples of 4 and of ${ctor.BYTES_PER_ELEMENT}`);
  }
  if (size === 0) return new ctor(new ArrayBuffer(0));

  const staging = await withErrorScope(
    device,
    () => {
      const buf = device.createBuffer({ label: `${source.label || 'buffer'} (readback)`, size, usage: MAP_READ | COPY_DST });
      const encoder = device.createCommandEncoder({ label: what });
      encoder.copyBufferToBuffer(source, offset, buf, 0, size);
      device.queue.submit([encoder.finish()]);
      return buf;
    },
    what,
  );
  try {
    try {
      await guardWork(device, staging.mapAsync(MAP_MODE_READ), what);
    } catch (e) {
      if (e instanceof GpuError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      throw new GpuError(`${what}: mapAsync failed${msg ? `: ${firstLine(msg)}` : ''}`, msg || undefined);
    }
    // slice() copies, so the result outlives unmap().
    const out = new ctor(staging.getMappedRange().slice(0));
    staging.unmap();
    return out;
  } finally {
    staging.destroy();
  }
}

/**
 * Run `fn` inside 'validation', 'out-of-memory' and 'internal' error scopes
 * and throw a GpuError carrying the first error's message if any occurred
 * (an exception thrown by `fn` itself wins). Returns what `fn` returns.
 *
 * Error scopes form one stack per device: do not overlap two
 * withErrorScope calls on the same device across an `await`.
 *
 * @example
 * ```ts
 * const module = await withErrorScope(device, () => device.createShaderModule({ code }), 'compiling smoke.wgsl');
 * ```
 */
export async function withErrorScope<T>(device: GPUDevice, fn: () => T | Promise<T>, what = 'WebGPU call'): Promise<T> {
  device.pushErrorScope('internal');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T | undefined;
  let thrown: { error: unknown } | undefined;
  try {
    result = await fn();
  } catch (error) {
    thrown = { error };
  }
  const scopes: (GPUError | null)[] = [];
  for (const kind of ['validation', 'out-of-memory', 'internal'] as const) {
    scopes.push(await guardWork(device, device.popErrorScope(), `${what} (${kind} scope)`));
  }
  if (thrown) throw asGpuError(thrown.error, what);
  const kinds = ['validation', 'out-of-memory', 'internal'];
  for (let i = 0; i < scopes.length; i++) {
    const err = scopes[i];
    if (err) throw new GpuError(`${what}: WebGPU ${kinds[i]} error: ${firstLine(err.message)}`, err.message);
  }
  return result as T;
}

/**
 * WebGPU's own exceptions (GPUPipelineError from create*PipelineAsync,
 * OperationError DOMExceptions) as a one-line GpuError; anything else as is.
 */
function asGpuError(e: unknown, what: string): unknown {
  if (e instanceof GpuError || !(e instanceof Error)) return e;
  const reason = (e as { reason?: unknown }).reason;
  if (e.name === 'GPUPipelineError' || e.constructor?.name === 'GPUPipelineError') {
    return new GpuError(`${what}: WebGPU pipeline ${typeof reason === 'string' ? `${reason} ` : ''}error: ${firstLine(e.message)}`, e.message);
  }
  if (e.name === 'OperationError' || e.name === 'AbortError') {
    return new GpuError(`${what}: ${firstLine(e.message) || e.name}`, e.message);
  }
  return e;
}
