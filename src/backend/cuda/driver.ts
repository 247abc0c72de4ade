/**
 * @module backend/cuda/driver
 * The seam between the cuda tfjs backend and what executes its work. `CudaDriver` is the
 * handful of operations the backend needs from a GPU — device memory, copies, kernel launches,
 * strided batched SGEMM, events — and nothing about tensors. Two implementations:
 *
 *   - `DeviceDriver` (device-driver.ts): libcuda's driver API, cuBLAS and NVRTC through koffi;
 *     one context, one non-blocking stream, the stream-ordered allocator.
 *   - `HostDriver` (host/host-driver.ts): the same kernel sources compiled as host C++ (g++)
 *     and run over the grid on the CPU, a reference SGEMM with cuBLAS's semantics, and checks a
 *     GPU cannot make (launch limits, pointers into live allocations, guard bytes around each
 *     allocation). It is how CI runs the backend's launch logic without a GPU.
 *
 * Everything above this seam (shapes, strides, grids, parameter packing, refcounts) is shared,
 * and one conformance suite (test/backend/cuda/) runs against both.
 */

/** A device address; 0 is null. Device pointers fit in 53 bits on every CUDA platform. */
export type DevicePtr = number;

export type Dim3 = readonly [number, number, number];

export interface DeviceInfo {
  /** "NVIDIA H100 80GB HBM3", or "host (g++ 12.2.0)". */
  name: string;
  /** Compute capability [major, minor]; the host driver reports the arch its kernels emulate. */
  computeCapability: readonly [number, number];
  totalBytes: number;
  /** Driver and library versions, for logs. */
  versions: Record<string, string>;
}

/**
 * One `cublasSgemmStridedBatched` call, in cuBLAS's own (column-major) terms:
 * C_i = alpha · op(A_i) · op(B_i) + beta · C_i for i < batch, op(A) of shape m×k, op(B) k×n,
 * X_i at X + i·strideX floats. `beta = 0` means C is not read.
 */
export interface GemmCall {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  a: DevicePtr;
  lda: number;
  strideA: number;
  b: DevicePtr;
  ldb: number;
  strideB: number;
  beta: number;
  c: DevicePtr;
  ldc: number;
  strideC: number;
  batch: number;
}

/** An event recorded on the stream (for `tf.time`). */
export type DriverEvent = unknown;

export interface CudaDriver {
  readonly kind: 'device' | 'host';
  readonly info: DeviceInfo;
  /** Device memory of `bytes` (> 0), stream-ordered. */
  alloc(bytes: number): DevicePtr;
  /** Frees after the work queued so far (stream-ordered). */
  free(ptr: DevicePtr): void;
  /** Host → device; `src` may be reused as soon as this returns. */
  upload(dst: DevicePtr, src: ArrayBufferView): void;
  /** Device → host after all queued work; returns when `dst` holds the data. */
  download(dst: ArrayBufferView, src: DevicePtr): void;
  /** Device → device, stream-ordered. */
  copy(dst: DevicePtr, src: DevicePtr, bytes: number): void;
  /** Sets `count` 32-bit words at `dst` to `bits`. */
  fill32(dst: DevicePtr, bits: number, count: number): void;
  /** Launches kernel `name` of the loaded module; `params` hold each argument's bytes, in order. */
  launch(name: string, grid: Dim3, block: Dim3, params: readonly Buffer[]): void;
  gemm(call: GemmCall): void;
  /** Waits for all queued work. */
  synchronize(): void;
  recordEvent(): DriverEvent;
  /** Milliseconds between two recorded events (waits for `end`); releases both. */
  elapsedMs(start: DriverEvent, end: DriverEvent): number;
  /** Free and total device memory in bytes. */
  memInfo(): { free: number; total: number };
  dispose(): void;
}

/** The largest grid and block a launch may ask for (CUDA's limits for every sm ≥ 3.0). */
export const LAUNCH_LIMITS = {
  threadsPerBlock: 1024,
  block: [1024, 1024, 64] as Dim3,
  grid: [2 ** 31 - 1, 65535, 65535] as Dim3,
};

/** Throws when a launch exceeds CUDA's limits. */
export function checkLaunch(name: string, grid: Dim3, block: Dim3): void {
  const threads = block[0] * block[1] * block[2];
  const bad =
    threads < 1 || threads > LAUNCH_LIMITS.threadsPerBlock ||
    block.some((b, i) => !Number.isInteger(b) || b < 1 || b > LAUNCH_LIMITS.block[i]!) ||
    grid.some((g, i) => !Number.isInteger(g) || g < 1 || g > LAUNCH_LIMITS.grid[i]!);
  if (bad) throw new Error(`launch of ${name}: grid ${grid.join('×')} block ${block.join('×')} is outside CUDA's limits`);
}
