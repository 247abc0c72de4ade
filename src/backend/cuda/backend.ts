/**
 * @module backend/cuda/backend
 * `CudaBackend`: the tfjs `KernelBackend` of the cuda backend. It owns tensor storage — one
 * device buffer per tfjs data id, refcounted, so that Reshape/Identity/no-op Cast share the
 * buffer (tfjs increments the count through `incRef` and decrements through `disposeData`) —
 * and gives kernels a small vocabulary: `output`, `ptr`, `launch`, `gemm`, `fill`, `share`.
 *
 * Reads are synchronous (`readSync` waits for the stream, then copies), so `dataSync()` works.
 * Dtypes on the device: float32 and int32 as themselves, bool as int32 0/1 (one kernel set serves
 * ints and bools; reads give tfjs its Uint8Array back). Strings stay on the host and no kernel
 * accepts them. Empty tensors have no buffer (pointer 0) and launch nothing.
 */
import { BackendError } from '../../errors.js';
import { tf } from '../tf.js';
import type { CudaDriver, DevicePtr, Dim3, GemmCall } from './driver.js';
import { packParams, type KernelSource, type ParamValue } from './kernel-source.js';

type DataId = object;
type BackendValues = Float32Array | Int32Array | Uint8Array | Uint8Array[];

interface Buffer_ {
  ptr: DevicePtr;
  bytes: number;
  dtype: tf.DataType;
  refCount: number;
  /** Host values of a string tensor (never on the device). */
  strings?: Uint8Array[];
}

export interface CudaBackendOptions {
  /** Log lines (backend selection logs the device once). */
  onDispose?: () => void;
}

export class CudaBackend extends tf.KernelBackend {
  private readonly data = new Map<DataId, Buffer_>();
  private liveBytes = 0;
  private peakBytes = 0;
  private kernelLaunches = 0;
  private nextId = 0;

  constructor(readonly driver: CudaDriver, private readonly opts: CudaBackendOptions = {}) {
    super();
  }

  // ---- storage -------------------------------------------------------------------------

  override write(values: BackendValues, shape: number[], dtype: tf.DataType): DataId {
    const dataId = { id: this.nextId++ };
    this.store(dataId, values, shape, dtype, 1);
    return dataId;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.store(dataId, values, shape, dtype, refCount);
  }

  private store(dataId: DataId, values: BackendValues | null, shape: number[], dtype: tf.DataType, refCount: number): void {
    if (dtype === 'complex64') throw new BackendError('the cuda backend has no complex64 tensors');
    if (dtype === 'string') {
      this.data.set(dataId, { ptr: 0, bytes: 0, dtype, refCount, strings: (values as Uint8Array[] | null) ?? [] });
      return;
    }
    const size = tf.util.sizeFromShape(shape);
    const buf = this.allocate(size, dtype, refCount);
    this.data.set(dataId, buf);
    if (values && size > 0) this.driver.upload(buf.ptr, deviceView(values, dtype, size));
  }

  private allocate(size: number, dtype: tf.DataType, refCount: number): Buffer_ {
    const bytes = 4 * size;
    const ptr = bytes > 0 ? this.driver.alloc(bytes) : 0;
    this.liveBytes += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return { ptr, bytes, dtype, refCount };
  }

  /** The buffer of `dataId`, moving it here from another backend when needed. */
  private buffer(dataId: DataId): Buffer_ {
    let buf = this.data.get(dataId);
    if (!buf) {
      tf.engine().moveData(this, dataId);
      buf = this.data.get(dataId);
      if (!buf) throw new Error('cuda backend: data id not found after move');
    }
    return buf;
  }

  override readSync(dataId: DataId): BackendValues {
    const buf = this.buffer(dataId);
    if (buf.dtype === 'string') return buf.strings!;
    const size = buf.bytes / 4;
    if (buf.dtype === 'float32') {
      const out = new Float32Array(size);
      if (size > 0) this.driver.download(out, buf.ptr);
      return out;
    }
    const ints = new Int32Array(size);
    if (size > 0) this.driver.download(ints, buf.ptr);
    return buf.dtype === 'bool' ? Uint8Array.from(ints) : ints;
  }

  override async read(dataId: DataId): Promise<BackendValues> {
    return this.readSync(dataId);
  }

  override refCount(dataId: DataId): number {
    return this.data.get(dataId)?.refCount ?? 0;
  }

  override incRef(dataId: DataId): void {
    this.buffer(dataId).refCount++;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const buf = this.data.get(dataId);
    if (!buf) return true;
    buf.refCount--;
    if (!force && buf.refCount > 0) return false;
    this.release(buf);
    this.data.delete(dataId);
    return true;
  }

  private release(buf: Buffer_): void {
    if (buf.ptr) this.driver.free(buf.ptr);
    this.liveBytes -= buf.bytes;
  }

  override numDataIds(): number {
    return this.data.size;
  }

  override memory(): { unreliable: boolean; numBytesInGPU: number; numBytesInGPUAllocated: number; numBytesInGPUFree: number; peakBytesInGPU: number; kernelLaunches: number } & { reasons?: string[] } {
    const { free } = this.driver.memInfo();
    return { unreliable: false, numBytesInGPU: this.liveBytes, numBytesInGPUAllocated: this.liveBytes, numBytesInGPUFree: free, peakBytesInGPU: this.peakBytes, kernelLaunches: this.kernelLaunches };
  }

  override async time(f: () => void): Promise<{ kernelMs: number }> {
    const start = this.driver.recordEvent();
    f();
    const end = this.driver.recordEvent();
    return { kernelMs: this.driver.elapsedMs(start, end) };
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    for (const buf of this.data.values()) this.release(buf);
    this.data.clear();
    this.driver.synchronize();
    this.opts.onDispose?.();
  }

  // ---- what kernels use ----------------------------------------------------------------

  /** A new tensor of `shape`/`dtype` with uninitialised device memory. */
  output(shape: number[], dtype: tf.DataType): tf.TensorInfo {
    if (dtype === 'string' || dtype === 'complex64') throw new BackendError(`the cuda backend has no ${dtype} kernels`);
    const dataId = { id: this.nextId++ };
    this.data.set(dataId, this.allocate(tf.util.sizeFromShape(shape), dtype, 1));
    return { dataId, shape, dtype };
  }

  /** The same buffer under another shape (Reshape, Identity, a Cast that changes nothing). */
  share(x: tf.TensorInfo, shape: number[] = x.shape, dtype: tf.DataType = x.dtype): tf.TensorInfo {
    this.incRef(x.dataId);
    return { dataId: x.dataId, shape, dtype };
  }

  /** The device address of a tensor (0 for an empty one). */
  ptr(x: tf.TensorInfo): DevicePtr {
    const buf = this.buffer(x.dataId);
    if (buf.dtype === 'string') throw new BackendError('the cuda backend has no string kernels');
    return buf.ptr;
  }

  /** Frees an intermediate tensor a kernel made for itself. */
  disposeIntermediate(x: tf.TensorInfo): void {
    this.disposeData(x.dataId);
  }

  launch(kernel: KernelSource, grid: Dim3, block: Dim3, values: readonly ParamValue[]): void {
    this.driver.launch(kernel.name, grid, block, packParams(kernel, values));
    this.kernelLaunches++;
  }

  gemm(call: GemmCall): void {
    this.driver.gemm(call);
    this.kernelLaunches++;
  }

  /** Sets every element of `x` to the 32-bit pattern `bits`. */
  fill(x: tf.TensorInfo, bits: number): void {
    const size = tf.util.sizeFromShape(x.shape);
    if (size > 0) this.driver.fill32(this.ptr(x), bits, size);
  }

  /** Copies all of `src` into `dst` (same byte size). */
  copy(dst: tf.TensorInfo, src: tf.TensorInfo): void {
    const bytes = 4 * tf.util.sizeFromShape(src.shape);
    if (bytes > 0) this.driver.copy(this.ptr(dst), this.ptr(src), bytes);
  }
}

/** The 4-byte-per-element host view the device stores for `values`. */
function deviceView(values: BackendValues, dtype: tf.DataType, size: number): Float32Array | Int32Array {
  if (dtype === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (values instanceof Int32Array) return values;
  const ints = new Int32Array(size);
  const src = values as ArrayLike<number>;
  for (let i = 0; i < size; i++) ints[i] = dtype === 'bool' ? (src[i] ? 1 : 0) : src[i]!;
  return ints;
}

/** The float32 bit pattern of `v` (for fill and kernel constants). */
export function floatBits(v: number): number {
  const f = new Float32Array([v]);
  return new Int32Array(f.buffer)[0]!;
}
