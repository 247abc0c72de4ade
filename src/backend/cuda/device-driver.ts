/**
 * @module backend/cuda/device-driver
 * `DeviceDriver`: the `CudaDriver` seam on an NVIDIA GPU. One device (an ordinal within
 * CUDA_VISIBLE_DEVICES), its primary context (shared with cuBLAS, which runs on the CUDA
 * runtime), one non-blocking stream that every copy, kernel and GEMM is queued on, and the
 * device's default memory pool through `cuMemAllocAsync`/`cuMemFreeAsync` with its release
 * threshold raised so freed memory stays pooled between steps instead of returning to the
 * driver at every synchronisation.
 *
 * The kernel module is compiled once per process by NVRTC (a CUBIN for this device's sm,
 * cached on disk) and every function is looked up at start.
 *
 * Uploads up to 1 MiB go through a ring of pinned memory (staging-ring.ts), so a small tensor
 * never makes the host wait for the stream. Reads: `cuMemcpyDtoHAsync` into pageable memory
 * returns when the copy is done (CUDA's documented behaviour), after the stream's earlier work;
 * the stream is synchronised as well, so a read also surfaces any asynchronous kernel error.
 */
import { BackendError } from '../../errors.js';
import { checkLaunch, type CudaDriver, type DeviceInfo, type Dim3, type DevicePtr, type DriverEvent, type GemmCall } from './driver.js';
import { moduleSource, type KernelSource } from './kernel-source.js';
import {
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, CU_STREAM_NON_BLOCKING,
  CU_EVENT_DISABLE_TIMING, CUBLAS_DEFAULT_MATH, CUBLAS_TF32_TENSOR_OP_MATH, CUDA_ERROR_NOT_READY, cublasChecker, cuChecker, loadCublas, loadLibcuda, type CublasApi, type CuApi,
} from './libcuda.js';
import koffi from 'koffi';
import { Nvrtc, type CompiledModule } from './nvrtc.js';
import { StagingRing } from './staging-ring.js';

/** Pinned staging for uploads up to STAGE_MAX bytes (see staging-ring.ts); larger ones go direct. */
const STAGE_BYTES = 16 * 2 ** 20;
const STAGE_MAX = 2 ** 20;

export interface DeviceDriverOptions {
  kernels: readonly KernelSource[];
  /** Ordinal among the visible devices (CUDA_VISIBLE_DEVICES applies first). */
  device?: number;
  /** cuBLAS TF32 tensor-core math for fp32 GEMMs (10-bit mantissa products, fp32 accumulate). */
  tf32?: boolean;
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
}

export class DeviceDriver implements CudaDriver {
  readonly kind = 'device' as const;
  readonly info: DeviceInfo;
  readonly compiled: CompiledModule;
  private readonly cu: CuApi;
  private readonly blas: CublasApi;
  private readonly check: (what: string, rc: number) => void;
  private readonly device: number;
  private readonly ctx: unknown;
  private readonly stream: unknown;
  private readonly module: unknown;
  private readonly blasHandle: unknown;
  private readonly functions = new Map<string, unknown>();
  private readonly pinned: unknown;
  private readonly staging: StagingRing<unknown>;
  private readonly eventPool: unknown[] = [];
  private readonly alpha = new Float32Array(1);
  private readonly beta = new Float32Array(1);
  private readonly out64 = [0];
  private disposed = false;

  constructor(opts: DeviceDriverOptions) {
    const env = opts.env ?? process.env;
    const { cu, found: libcuda } = loadLibcuda(env);
    this.cu = cu;
    // The other two libraries first: a missing one fails before any GPU resource is taken.
    const nvrtc = new Nvrtc(env);
    const { blas, found: cublas } = loadCublas(env);
    const check = cuChecker(cu);
    this.check = check;
    check('cuInit', cu.cuInit(0));
    const count = [0];
    check('cuDeviceGetCount', cu.cuDeviceGetCount(count));
    const ordinal = opts.device ?? 0;
    if (count[0]! === 0) throw new BackendError(`libcuda (${libcuda.path}) sees no GPU${env.CUDA_VISIBLE_DEVICES !== undefined ? ` (CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES})` : ''}`);
    if (ordinal < 0 || ordinal >= count[0]!) throw new BackendError(`cuda.device ${ordinal} is not one of the ${count[0]} visible GPUs (0..${count[0]! - 1}; CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES ?? 'unset'})`);
    const dev = [0];
    check('cuDeviceGet', cu.cuDeviceGet(dev, ordinal));
    this.device = dev[0]!;
    const nameBuf = Buffer.alloc(256);
    check('cuDeviceGetName', cu.cuDeviceGetName(nameBuf, 256, this.device));
    const major = [0];
    const minor = [0];
    check('cuDeviceGetAttribute', cu.cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, this.device));
    check('cuDeviceGetAttribute', cu.cuDeviceGetAttribute(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, this.device));
    const total = [0];
    check('cuDeviceTotalMem', cu.cuDeviceTotalMem(total, this.device));
    const driverVersion = [0];
    check('cuDriverGetVersion', cu.cuDriverGetVersion(driverVersion));

    const ctx = [null as unknown];
    check('cuDevicePrimaryCtxRetain', cu.cuDevicePrimaryCtxRetain(ctx, this.device));
    this.ctx = ctx[0];
    check('cuCtxSetCurrent', cu.cuCtxSetCurrent(this.ctx));
    const stream = [null as unknown];
    check('cuStreamCreate', cu.cuStreamCreate(stream, CU_STREAM_NON_BLOCKING));
    this.stream = stream[0];
    const pool = [null as unknown];
    check('cuDeviceGetDefaultMemPool', cu.cuDeviceGetDefaultMemPool(pool, this.device));
    const threshold = Buffer.alloc(8);
    threshold.writeBigUInt64LE(0xffffffffffffffffn);
    check('cuMemPoolSetAttribute(RELEASE_THRESHOLD)', cu.cuMemPoolSetAttribute(pool[0], CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, threshold));

    const pinned = [null as unknown];
    check(`cuMemAllocHost(${STAGE_BYTES} bytes)`, cu.cuMemAllocHost(pinned, STAGE_BYTES));
    this.pinned = pinned[0];
    const pinnedAddress = Number(koffi.address(this.pinned));
    this.staging = new StagingRing(pinnedAddress, new Uint8Array(koffi.view(pinnedAddress, STAGE_BYTES)), {
      record: () => {
        const ev = this.eventPool.pop() ?? this.newEvent(CU_EVENT_DISABLE_TIMING);
        check('cuEventRecord', cu.cuEventRecord(ev, this.stream));
        return ev;
      },
      wait: (ev) => check('cuEventSynchronize', cu.cuEventSynchronize(ev)),
      done: (ev) => {
        const rc = cu.cuEventQuery(ev);
        if (rc === CUDA_ERROR_NOT_READY) return false;
        check('cuEventQuery', rc);
        return true;
      },
      release: (ev) => this.eventPool.push(ev),
    });

    this.compiled = nvrtc.compile(moduleSource(opts.kernels), nvrtc.targetFor(major[0]!, minor[0]!), undefined, opts.cacheDir);
    const mod = [null as unknown];
    check(`cuModuleLoadData (${this.compiled.kind} for ${this.compiled.target} from NVRTC ${nvrtc.version})`, cu.cuModuleLoadData(mod, this.compiled.image));
    this.module = mod[0];
    for (const k of opts.kernels) {
      const fn = [null as unknown];
      check(`cuModuleGetFunction(${k.name})`, cu.cuModuleGetFunction(fn, this.module, k.name));
      this.functions.set(k.name, fn[0]);
    }

    this.blas = blas;
    const h = [null as unknown];
    cublasChecker('cublasCreate', blas.cublasCreate(h));
    this.blasHandle = h[0];
    cublasChecker('cublasSetStream', blas.cublasSetStream(this.blasHandle, this.stream));
    cublasChecker('cublasSetMathMode', blas.cublasSetMathMode(this.blasHandle, opts.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    const blasVersion = [0];
    cublasChecker('cublasGetVersion', blas.cublasGetVersion(this.blasHandle, blasVersion));

    this.info = {
      name: nameBuf.toString('utf8').replace(/\0.*$/s, ''),
      computeCapability: [major[0]!, minor[0]!],
      totalBytes: total[0]!,
      versions: {
        driver: `${Math.floor(driverVersion[0]! / 1000)}.${(driverVersion[0]! % 1000) / 10}`,
        libcuda: libcuda.path,
        cublas: `${blasVersion[0]} (${cublas.path})`,
        nvrtc: `${nvrtc.version} (${nvrtc.path})`,
        kernels: `${this.compiled.kind} ${this.compiled.target}${this.compiled.fromCache ? ' (cached)' : ` (${Math.round(this.compiled.ms)} ms)`}`,
        math: opts.tf32 ? 'tf32' : 'fp32',
      },
    };
  }

  alloc(bytes: number): DevicePtr {
    this.check(`cuMemAllocAsync(${bytes} bytes)`, this.cu.cuMemAllocAsync(this.out64, bytes, this.stream));
    return this.out64[0]!;
  }

  free(ptr: DevicePtr): void {
    this.check('cuMemFreeAsync', this.cu.cuMemFreeAsync(ptr, this.stream));
  }

  upload(dst: DevicePtr, src: ArrayBufferView): void {
    if (src.byteLength <= STAGE_MAX) {
      const from = this.staging.stage(src);
      this.check('cuMemcpyHtoDAsync (staged)', this.cu.cuMemcpyHtoDAsyncFrom(dst, from, src.byteLength, this.stream));
      this.staging.queued();
      return;
    }
    this.check('cuMemcpyHtoDAsync', this.cu.cuMemcpyHtoDAsync(dst, src, src.byteLength, this.stream));
  }

  private newEvent(flags: number): unknown {
    const ev = [null as unknown];
    this.check('cuEventCreate', this.cu.cuEventCreate(ev, flags));
    return ev[0];
  }

  download(dst: ArrayBufferView, src: DevicePtr): void {
    this.check('cuMemcpyDtoHAsync', this.cu.cuMemcpyDtoHAsync(dst, src, dst.byteLength, this.stream));
    this.synchronize();
  }

  copy(dst: DevicePtr, src: DevicePtr, bytes: number): void {
    this.check('cuMemcpyDtoDAsync', this.cu.cuMemcpyDtoDAsync(dst, src, bytes, this.stream));
  }

  fill32(dst: DevicePtr, bits: number, count: number): void {
    this.check('cuMemsetD32Async', this.cu.cuMemsetD32Async(dst, bits >>> 0, count, this.stream));
  }

  launch(name: string, grid: Dim3, block: Dim3, params: readonly Buffer[]): void {
    const fn = this.functions.get(name);
    if (fn === undefined) throw new Error(`launch of ${name}: no such kernel in the module`);
    checkLaunch(name, grid, block);
    const rc = this.cu.cuLaunchKernel(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], 0, this.stream, params, null);
    if (rc !== 0) this.check(`cuLaunchKernel(${name}, grid ${grid.join('×')}, block ${block.join('×')})`, rc);
  }

  gemm(c: GemmCall): void {
    this.alpha[0] = c.alpha;
    this.beta[0] = c.beta;
    const rc = this.blas.cublasSgemmStridedBatched(
      this.blasHandle, c.transA ? 1 : 0, c.transB ? 1 : 0, c.m, c.n, c.k, this.alpha,
      c.a, c.lda, c.strideA, c.b, c.ldb, c.strideB, this.beta, c.c, c.ldc, c.strideC, c.batch,
    );
    if (rc !== 0) cublasChecker(`cublasSgemmStridedBatched(${JSON.stringify(c)})`, rc);
  }

  synchronize(): void {
    this.check('cuStreamSynchronize', this.cu.cuStreamSynchronize(this.stream));
  }

  recordEvent(): DriverEvent {
    const ev = this.newEvent(0);
    this.check('cuEventRecord', this.cu.cuEventRecord(ev, this.stream));
    return ev;
  }

  elapsedMs(start: DriverEvent, end: DriverEvent): number {
    this.check('cuEventSynchronize', this.cu.cuEventSynchronize(end));
    const ms = new Float32Array(1);
    this.check('cuEventElapsedTime', this.cu.cuEventElapsedTime(ms, start, end));
    this.cu.cuEventDestroy(start);
    this.cu.cuEventDestroy(end);
    return ms[0]!;
  }

  memInfo(): { free: number; total: number } {
    const free = [0];
    const total = [0];
    this.check('cuMemGetInfo', this.cu.cuMemGetInfo(free, total));
    return { free: free[0]!, total: total[0]! };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.synchronize();
    for (const ev of this.eventPool) this.cu.cuEventDestroy(ev);
    this.cu.cuMemFreeHost(this.pinned);
    this.blas.cublasDestroy(this.blasHandle);
    this.cu.cuModuleUnload(this.module);
    this.cu.cuStreamDestroy(this.stream);
    this.cu.cuDevicePrimaryCtxRelease(this.device);
  }
}
