/**
 * @module backend/cuda/host/host-driver
 * `HostDriver`: the `CudaDriver` seam on the CPU. The backend's own kernel sources, compiled
 * as host C++ (host/build.ts) and loaded with koffi, run over the launch's grid; arguments
 * travel as the same `void**` of per-argument buffers that `cuLaunchKernel` receives. On top
 * of executing, it checks what a GPU would not report:
 *
 * - launch limits (threads per block, grid and block extents) and that a kernel was launched
 *   with a power-of-two block when it says it needs one;
 * - that every pointer argument points into a live allocation (a refcount bug shows up as a
 *   use-after-free here, not as silent garbage);
 * - after every launch and SGEMM, the guard bytes around each allocation it was given
 *   (out-of-bounds writes).
 *
 * It is slow (one thread at a time) and meant for tests of everything above the seam.
 */
import koffi from 'koffi';
import { performance } from 'node:perf_hooks';
import { BackendError } from '../../../errors.js';
import { checkLaunch, type CudaDriver, type DeviceInfo, type Dim3, type DevicePtr, type DriverEvent, type GemmCall } from '../driver.js';
import { paramSpecs, type KernelSource } from '../kernel-source.js';
import { StagingRing } from '../staging-ring.js';
import { buildHostLibrary } from './build.js';

type Fn = (...args: unknown[]) => unknown;

const HOST_ERRORS: Record<number, string> = {
  1: 'divergent __syncthreads (some threads of a block finished while others wait at a barrier)',
  2: '__syncthreads in a kernel not declared `barrier`',
  3: 'out of host memory for fibers',
  4: 'unknown kernel index',
};

export interface HostDriverOptions {
  kernels: readonly KernelSource[];
  /** Kernel cache folder ('' = default). */
  cacheDir?: string;
  /** Host memory the driver claims to have (memInfo), default 16 GiB. */
  totalBytes?: number;
}

export class HostDriver implements CudaDriver {
  readonly kind = 'host' as const;
  readonly info: DeviceInfo;
  private readonly fn: Record<string, Fn>;
  private readonly index = new Map<string, { i: number; kernel: KernelSource; ptrArgs: number[] }>();
  /** Live allocations: base → bytes. */
  private readonly live = new Map<number, number>();
  private liveBytes = 0;
  private readonly staging: StagingRing<null>;
  /** Uploads that went through the staging ring (tests). */
  stagedUploads = 0;
  private readonly totalBytes: number;
  /** Launch counts per kernel (tests read them). */
  readonly launches = new Map<string, number>();

  constructor(opts: HostDriverOptions) {
    const { path, compiler } = buildHostLibrary(opts.kernels, opts.cacheDir);
    const lib = koffi.load(path);
    const f = (proto: string) => lib.func(proto) as unknown as Fn;
    this.fn = {
      count: f('int hostKernelCount()'),
      name: f('const char* hostKernelName(int i)'),
      launch: f('int hostLaunch(int index, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, void **params)'),
      alloc: f('uint64_t hostAlloc(size_t bytes)'),
      free: f('void hostFree(uint64_t ptr)'),
      guards: f('int hostCheckGuards(uint64_t ptr, size_t bytes)'),
      upload: f('void hostUpload(uint64_t dst, const void *src, size_t bytes)'),
      download: f('void hostDownload(_Out_ void *dst, uint64_t src, size_t bytes)'),
      copy: f('void hostCopy(uint64_t dst, uint64_t src, size_t bytes)'),
      hostAlloc: f('uint64_t hostAlloc(size_t bytes)'),
      fill32: f('void hostFill32(uint64_t dst, uint32_t bits, size_t count)'),
      sgemm: f('int hostSgemmStridedBatched(int ta, int tb, int m, int n, int k, float alpha, uint64_t a, int lda, long long sa, uint64_t b, int ldb, long long sb, float beta, uint64_t c, int ldc, long long sc, int batch)'),
    };
    const count = this.fn.count!() as number;
    const byName = new Map(opts.kernels.map((k) => [k.name, k]));
    for (let i = 0; i < count; i++) {
      const name = this.fn.name!(i) as string;
      const kernel = byName.get(name)!;
      const ptrArgs = paramSpecs(kernel.params).flatMap((p, j) => (p.kind === 'ptr' ? [j] : []));
      this.index.set(name, { i, kernel, ptrArgs });
    }
    this.totalBytes = opts.totalBytes ?? 16 * 2 ** 30;
    // The device driver's pinned staging ring, on host memory (copies are synchronous here, so
    // every region is free again at once); small uploads take this path as on a GPU.
    const ringBytes = 1 << 20;
    const ring = this.fn.hostAlloc!(ringBytes) as number;
    this.staging = new StagingRing(ring, new Uint8Array(koffi.view(ring, ringBytes)), { record: () => null, wait: () => {}, done: () => true, release: () => {} });
    this.info = { name: `host (${compiler})`, computeCapability: [9, 0], totalBytes: this.totalBytes, versions: { compiler } };
  }

  /** Bytes currently allocated (tests: nothing leaks). */
  get allocatedBytes(): number {
    return this.liveBytes;
  }

  get allocations(): number {
    return this.live.size;
  }

  alloc(bytes: number): DevicePtr {
    if (!(bytes > 0)) throw new Error(`alloc of ${bytes} bytes`);
    const ptr = this.fn.alloc!(bytes) as number;
    if (!ptr) throw new BackendError(`host driver: out of memory allocating ${bytes} bytes`);
    this.live.set(ptr, bytes);
    this.liveBytes += bytes;
    return ptr;
  }

  free(ptr: DevicePtr): void {
    const bytes = this.live.get(ptr);
    if (bytes === undefined) throw new Error(`free of ${hex(ptr)}, which is not a live allocation (double free?)`);
    this.checkGuards(ptr, 'free');
    this.live.delete(ptr);
    this.liveBytes -= bytes;
    this.fn.free!(ptr);
  }

  upload(dst: DevicePtr, src: ArrayBufferView): void {
    this.checkRange(dst, src.byteLength, 'upload');
    if (src.byteLength <= this.staging.size / 4) {
      const from = this.staging.stage(src);
      this.fn.copy!(dst, from, src.byteLength);
      this.staging.queued();
      this.stagedUploads++;
      return;
    }
    this.fn.upload!(dst, src, src.byteLength);
  }

  download(dst: ArrayBufferView, src: DevicePtr): void {
    this.checkRange(src, dst.byteLength, 'download');
    this.fn.download!(dst, src, dst.byteLength);
  }

  copy(dst: DevicePtr, src: DevicePtr, bytes: number): void {
    this.checkRange(dst, bytes, 'copy destination');
    this.checkRange(src, bytes, 'copy source');
    this.fn.copy!(dst, src, bytes);
  }

  fill32(dst: DevicePtr, bits: number, count: number): void {
    this.checkRange(dst, 4 * count, 'fill');
    this.fn.fill32!(dst, bits >>> 0, count);
  }

  launch(name: string, grid: Dim3, block: Dim3, params: readonly Buffer[]): void {
    const entry = this.index.get(name);
    if (!entry) throw new Error(`launch of ${name}: no such kernel in the module`);
    checkLaunch(name, grid, block);
    if (params.length !== paramSpecs(entry.kernel.params).length) throw new Error(`launch of ${name}: ${params.length} parameter buffers for (${entry.kernel.params})`);
    const bases = entry.ptrArgs.map((j) => {
      const ptr = Number(params[j]!.readBigUInt64LE());
      return ptr === 0 ? 0 : this.baseOf(ptr, `launch of ${name}: argument ${paramSpecs(entry.kernel.params)[j]!.name}`);
    });
    const rc = this.fn.launch!(entry.i, grid[0], grid[1], grid[2], block[0], block[1], block[2], params) as number;
    if (rc !== 0) throw new Error(`host launch of ${name} failed: ${HOST_ERRORS[rc] ?? `code ${rc}`}`);
    this.launches.set(name, (this.launches.get(name) ?? 0) + 1);
    for (const base of bases) if (base) this.checkGuards(base, `kernel ${name}`);
  }

  gemm(c: GemmCall): void {
    const bases = [c.a, c.b, c.c].map((p, i) => this.baseOf(p, `sgemm ${'ABC'[i]}`));
    const rc = this.fn.sgemm!(c.transA ? 1 : 0, c.transB ? 1 : 0, c.m, c.n, c.k, c.alpha, c.a, c.lda, c.strideA, c.b, c.ldb, c.strideB, c.beta, c.c, c.ldc, c.strideC, c.batch) as number;
    if (rc !== 0) throw new Error(`sgemm refused its arguments (CUBLAS_STATUS ${rc}): ${JSON.stringify(c)}`);
    this.launches.set('sgemm', (this.launches.get('sgemm') ?? 0) + 1);
    for (const base of bases) this.checkGuards(base, 'sgemm');
  }

  synchronize(): void {}

  recordEvent(): DriverEvent {
    return performance.now();
  }

  elapsedMs(start: DriverEvent, end: DriverEvent): number {
    return (end as number) - (start as number);
  }

  memInfo(): { free: number; total: number } {
    return { free: this.totalBytes - this.liveBytes, total: this.totalBytes };
  }

  dispose(): void {
    for (const ptr of [...this.live.keys()]) this.free(ptr);
  }

  /** The allocation `ptr` points into (its base); throws when it points at freed or unknown memory. */
  private baseOf(ptr: number, what: string): number {
    if (this.live.has(ptr)) return ptr;
    for (const [base, bytes] of this.live) if (ptr > base && ptr < base + bytes) return base;
    throw new Error(`${what} = ${hex(ptr)} points at no live allocation (freed too early, or a wrong offset)`);
  }

  private checkRange(ptr: number, bytes: number, what: string): void {
    const base = this.baseOf(ptr, what);
    if (ptr + bytes > base + this.live.get(base)!) throw new Error(`${what} of ${bytes} bytes at ${hex(ptr)} runs past its allocation of ${this.live.get(base)} bytes`);
  }

  private checkGuards(base: number, what: string): void {
    const rc = this.fn.guards!(base, this.live.get(base)!) as number;
    if (rc !== 0) throw new Error(`${what} wrote ${rc === 1 ? 'before the start' : 'past the end'} of the allocation at ${hex(base)} (${this.live.get(base)} bytes)`);
  }
}

function hex(p: number): string {
  return `0x${p.toString(16)}`;
}
