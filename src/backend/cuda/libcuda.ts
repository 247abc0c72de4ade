/**
 * @module backend/cuda/libcuda
 * koffi bindings of the CUDA driver API functions the device driver calls (the `_v2` symbols,
 * as cuda.h maps them), and of the cuBLAS functions it calls. Handles (context, stream, module,
 * function, event, cuBLAS handle) are opaque pointers; device pointers are `uint64_t`, which
 * koffi passes and returns as JS numbers. Every call returns a CUresult / cublasStatus_t;
 * `check` turns a non-zero one into a BackendError naming the call and the code.
 */
import koffi from 'koffi';
import { BackendError } from '../../errors.js';
import { openLibrary, type LibraryCandidate } from '../native/find-library.js';
import { cublasSpec, libcudaSpec } from './libs.js';

export type Fn = (...args: unknown[]) => number;

const CU_PROTOTYPES = {
  cuInit: 'int cuInit(unsigned int flags)',
  cuDriverGetVersion: 'int cuDriverGetVersion(_Out_ int *version)',
  cuDeviceGetCount: 'int cuDeviceGetCount(_Out_ int *count)',
  cuDeviceGet: 'int cuDeviceGet(_Out_ int *device, int ordinal)',
  cuDeviceGetName: 'int cuDeviceGetName(_Out_ uint8_t *name, int len, int device)',
  cuDeviceGetAttribute: 'int cuDeviceGetAttribute(_Out_ int *value, int attribute, int device)',
  cuDeviceTotalMem: 'int cuDeviceTotalMem_v2(_Out_ size_t *bytes, int device)',
  cuDevicePrimaryCtxRetain: 'int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int device)',
  cuDevicePrimaryCtxRelease: 'int cuDevicePrimaryCtxRelease_v2(int device)',
  cuCtxSetCurrent: 'int cuCtxSetCurrent(void *ctx)',
  cuStreamCreate: 'int cuStreamCreate(_Out_ void **stream, unsigned int flags)',
  cuStreamDestroy: 'int cuStreamDestroy_v2(void *stream)',
  cuStreamSynchronize: 'int cuStreamSynchronize(void *stream)',
  cuDeviceGetDefaultMemPool: 'int cuDeviceGetDefaultMemPool(_Out_ void **pool, int device)',
  cuMemPoolSetAttribute: 'int cuMemPoolSetAttribute(void *pool, int attribute, void *value)',
  cuMemAllocAsync: 'int cuMemAllocAsync(_Out_ uint64_t *ptr, size_t bytes, void *stream)',
  cuMemFreeAsync: 'int cuMemFreeAsync(uint64_t ptr, void *stream)',
  cuMemcpyHtoDAsync: 'int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *stream)',
  // The same function with the source as an address (pinned staging memory, see staging-ring.ts).
  cuMemcpyHtoDAsyncFrom: 'int cuMemcpyHtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *stream)',
  cuMemAllocHost: 'int cuMemAllocHost_v2(_Out_ void **ptr, size_t bytes)',
  cuMemFreeHost: 'int cuMemFreeHost(void *ptr)',
  cuMemcpyDtoHAsync: 'int cuMemcpyDtoHAsync_v2(_Out_ void *dst, uint64_t src, size_t bytes, void *stream)',
  cuMemcpyDtoDAsync: 'int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *stream)',
  cuMemsetD32Async: 'int cuMemsetD32Async(uint64_t dst, unsigned int value, size_t count, void *stream)',
  cuMemGetInfo: 'int cuMemGetInfo_v2(_Out_ size_t *free, _Out_ size_t *total)',
  cuModuleLoadData: 'int cuModuleLoadData(_Out_ void **module, const void *image)',
  cuModuleUnload: 'int cuModuleUnload(void *module)',
  cuModuleGetFunction: 'int cuModuleGetFunction(_Out_ void **fn, void *module, const char *name)',
  cuLaunchKernel: 'int cuLaunchKernel(void *fn, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int sharedBytes, void *stream, void **params, void **extra)',
  cuEventCreate: 'int cuEventCreate(_Out_ void **event, unsigned int flags)',
  cuEventRecord: 'int cuEventRecord(void *event, void *stream)',
  cuEventSynchronize: 'int cuEventSynchronize(void *event)',
  cuEventQuery: 'int cuEventQuery(void *event)',
  cuEventElapsedTime: 'int cuEventElapsedTime(_Out_ float *ms, void *start, void *end)',
  cuEventDestroy: 'int cuEventDestroy_v2(void *event)',
  cuGetErrorName: 'int cuGetErrorName(int error, _Out_ const char **name)',
} as const;

const CUBLAS_PROTOTYPES = {
  cublasCreate: 'int cublasCreate_v2(_Out_ void **handle)',
  cublasDestroy: 'int cublasDestroy_v2(void *handle)',
  cublasGetVersion: 'int cublasGetVersion_v2(void *handle, _Out_ int *version)',
  cublasSetStream: 'int cublasSetStream_v2(void *handle, void *stream)',
  cublasSetMathMode: 'int cublasSetMathMode(void *handle, int mode)',
  cublasSgemmStridedBatched:
    'int cublasSgemmStridedBatched(void *handle, int transa, int transb, int m, int n, int k, const float *alpha, uint64_t a, int lda, long long strideA, uint64_t b, int ldb, long long strideB, const float *beta, uint64_t c, int ldc, long long strideC, int batch)',
} as const;

/** Every prototype string (tests parse them all with koffi on machines without the libraries). */
export const PROTOTYPES: readonly string[] = [...Object.values(CU_PROTOTYPES), ...Object.values(CUBLAS_PROTOTYPES)];

export type CuApi = Record<keyof typeof CU_PROTOTYPES, Fn>;
export type CublasApi = Record<keyof typeof CUBLAS_PROTOTYPES, Fn>;

export const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
export const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
export const CU_STREAM_NON_BLOCKING = 1;
export const CU_EVENT_DISABLE_TIMING = 2;
export const CUDA_ERROR_NOT_READY = 600;
export const CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4;
export const CUBLAS_DEFAULT_MATH = 0;
export const CUBLAS_TF32_TENSOR_OP_MATH = 3;

function bind<K extends string>(lib: ReturnType<typeof koffi.load>, prototypes: Record<K, string>): Record<K, Fn> {
  const out = {} as Record<K, Fn>;
  for (const [key, proto] of Object.entries(prototypes) as [K, string][]) out[key] = lib.func(proto) as unknown as Fn;
  return out;
}

/** libcuda, loaded and bound; throws LibraryNotFoundError naming every place searched. */
export function loadLibcuda(env: NodeJS.ProcessEnv = process.env): { cu: CuApi; found: LibraryCandidate } {
  const { handle, found } = openLibrary(libcudaSpec(), (p) => bind(koffi.load(p), CU_PROTOTYPES), env);
  return { cu: handle, found };
}

/** cuBLAS, loaded with its libcublasLt from the same folder (toolkit folders are not always on the linker path). */
export function loadCublas(env: NodeJS.ProcessEnv = process.env): { blas: CublasApi; found: LibraryCandidate } {
  const { handle, found } = openLibrary(cublasSpec(), (p) => {
    const lt = p.replace(/libcublas\.so/, 'libcublasLt.so');
    if (lt !== p) {
      try {
        koffi.load(lt);
      } catch {
        // libcublas may still find its Lt through RUNPATH or the linker cache
      }
    }
    return bind(koffi.load(p), CUBLAS_PROTOTYPES);
  }, env);
  return { blas: handle, found };
}

/** A checker for CUresults that names the call and the error. */
export function cuChecker(cu: CuApi): (what: string, rc: number) => void {
  return (what, rc) => {
    if (rc === 0) return;
    const name = [''];
    const known = cu.cuGetErrorName(rc, name) === 0 ? name[0] : '';
    const hint = rc === 700 || rc === 719 ? ' (an earlier asynchronous kernel failed; rerun with CUDA_LAUNCH_BLOCKING=1 to find which)' : '';
    throw new BackendError(`${what} failed: ${known || 'CUresult'} ${rc}${hint}`);
  };
}

export function cublasChecker(what: string, rc: number): void {
  if (rc !== 0) throw new BackendError(`${what} failed: cublasStatus_t ${rc}`);
}
