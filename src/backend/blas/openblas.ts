/**
 * @module backend/blas/openblas
 * The koffi binding of a native BLAS: `cblas_sgemm` (required) and OpenBLAS's thread controls
 * (optional: another CBLAS named by `INSTRUCTUE_BLAS_LIB`, e.g. BLIS or MKL's `libmkl_rt`,
 * works without them and keeps its own thread setting).
 *
 * Pointers are passed as plain numbers (addresses), so a call copies nothing: the kernel adds a
 * tensor's offset in the WebAssembly heap to the heap's base address. koffi hands numbers
 * through as `void *` unchanged (koffi `TryPointer`), and a `void *` has no element conversion.
 *
 * OpenBLAS's kernel family is chosen before it loads (core-type.ts). Discovery is `native/find-library` with the variable `INSTRUCTUE_BLAS_LIB` (a file or folder;
 * `none` turns BLAS off). Only OpenBLAS file names are searched on the system: the generic
 * `libblas.so.3` may be the reference BLAS, which is ~30x slower than the built-in wasm kernel.
 */
import { createRequire } from 'node:module';
import type { LibraryHandle } from 'koffi';
import { BackendError } from '../../errors.js';
import { ensureCoreType } from './core-type.js';
import { LibraryNotFoundError, openLibrary, type LibraryCandidate, type LibrarySpec } from '../native/find-library.js';

/** CBLAS enum values (cblas.h). */
const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

export const BLAS_ENV_VAR = 'INSTRUCTUE_BLAS_LIB';

export const OPENBLAS_SPEC: LibrarySpec = {
  label: 'OpenBLAS',
  names: ['libopenblas.so.0', 'libopenblas.so', 'libopenblasp-r*.so'],
  envVar: BLAS_ENV_VAR,
  // Debian keeps each variant in its own folder behind the alternatives link.
  dirs: ['/usr/lib/x86_64-linux-gnu/openblas-pthread', '/usr/lib/aarch64-linux-gnu/openblas-pthread', '/usr/lib/x86_64-linux-gnu/openblas-openmp'],
  hint: `Install it (Debian/Ubuntu: apt-get install libopenblas0-pthread; scripts/setup.sh does this) or set ${BLAS_ENV_VAR} to a CBLAS library file; the built-in wasm matmul runs meanwhile, several times slower (README, "Measured on this machine class").`,
};

type Koffi = typeof import('koffi');
let koffiModule: Koffi | null = null;

/**
 * koffi, loaded on first use: its native part is an optional npm dependency
 * (@koromix/koffi-<platform>), so an install without optional packages has none, and that must
 * cost the BLAS path only, not every import of the backend code.
 */
function koffi(): Koffi {
  if (koffiModule) return koffiModule;
  try {
    koffiModule = createRequire(import.meta.url)('koffi') as Koffi;
    return koffiModule;
  } catch (err) {
    throw new BackendError(`koffi (the FFI that calls the BLAS) failed to load: ${(err as Error).message.split('\n')[0]}. Install the npm packages with their optional dependencies (npm ci, without --omit=optional): koffi's native part is the optional package @koromix/koffi-${process.platform}-${process.arch}.`, { cause: err });
  }
}

/** One loaded BLAS. Addresses are byte addresses in this process. */
export interface Blas {
  /** The file loaded and where it was found. */
  readonly found: LibraryCandidate;
  /** The address of a typed array's first byte (koffi.address): for the wasm heap's base. */
  address(view: ArrayBufferView): number;
  /** Row-major C[m,n] = op(A)·op(B) (alpha 1, beta 0); lda/ldb/ldc are row strides in elements. */
  sgemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number): void;
  /**
   * y += alpha·x over n float32 values (`cblas_saxpy`, unit strides; koffi passes the typed
   * arrays' memory, no copy), or null when the library lacks it. With alpha 1 every element is
   * the IEEE single-precision sum (x·1 is exact, so fused or not, one rounding).
   */
  saxpy: ((n: number, alpha: number, x: Float32Array, y: Float32Array) => void) | null;
  /** Sets the library's thread count; false when the library has no such control. */
  setThreads(threads: number): boolean;
  /** The library's current thread count, or null when it cannot say. */
  threads(): number | null;
  /** OpenBLAS's build description ("OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64"), or null. */
  describe(): string | null;
  /** The kernel family OpenBLAS runs ("SkylakeX", "Haswell", "Prescott" = its generic fallback), or null. */
  coreName(): string | null;
  /** Where the core type came from: "OPENBLAS_CORETYPE", "cpu flags" (core-type.ts) or "OpenBLAS detection". */
  readonly coreFrom: string;
}

type SgemmFn = (order: number, ta: number, tb: number, m: number, n: number, k: number, alpha: number, a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number) => void;

/** koffi.func for an optional symbol: null when the library lacks it. */
function optional<T>(lib: LibraryHandle, prototype: string): T | null {
  try {
    return lib.func(prototype) as unknown as T;
  } catch {
    return null;
  }
}

function bind(path: string): Omit<Blas, 'found' | 'coreFrom'> {
  const ffi = koffi();
  const lib = ffi.load(path);
  // Throws (and openLibrary tries the next candidate) when the file is no CBLAS.
  const sgemm = lib.func('void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const void *a, int lda, const void *b, int ldb, float beta, void *c, int ldc)') as unknown as SgemmFn;
  const saxpy = optional<(n: number, alpha: number, x: Float32Array, incx: number, y: Float32Array, incy: number) => void>(lib, 'void cblas_saxpy(int n, float alpha, const void *x, int incx, void *y, int incy)');
  const setThreads = optional<(n: number) => void>(lib, 'void openblas_set_num_threads(int n)');
  const getThreads = optional<() => number>(lib, 'int openblas_get_num_threads()');
  const getConfig = optional<() => string>(lib, 'const char *openblas_get_config()');
  const getCore = optional<() => string>(lib, 'const char *openblas_get_corename()');
  return {
    address: (view) => Number(ffi.address(view)),
    sgemm: (ta, tb, m, n, k, a, lda, b, ldb, c, ldc) => sgemm(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, m, n, k, 1, a, lda, b, ldb, 0, c, ldc),
    saxpy: saxpy ? (n, alpha, x, y) => saxpy(n, alpha, x, 1, y, 1) : null,
    setThreads: (n) => {
      if (!setThreads) return false;
      setThreads(n);
      return true;
    },
    threads: () => (getThreads ? getThreads() : null),
    describe: () => (getConfig ? getConfig() : null),
    coreName: () => (getCore ? getCore() : null),
  };
}

export interface LoadBlasOptions {
  env?: NodeJS.ProcessEnv;
  /** Search LD_LIBRARY_PATH, the linker cache and system folders too (default true). */
  systemSearch?: boolean;
}

/** Loads the first usable BLAS; throws LibraryNotFoundError naming every place searched. */
export function loadBlas(opts: LoadBlasOptions = {}): Blas {
  const system = opts.systemSearch ?? true;
  // Debian's per-variant folders are system folders too.
  const spec: LibrarySpec = { ...OPENBLAS_SPEC, dirs: system ? OPENBLAS_SPEC.dirs : [], systemSearch: system };
  // Before any load: OpenBLAS picks its kernels once, when it loads.
  const core = ensureCoreType();
  koffi(); // a missing FFI is one clear error, not one "failed to load" per candidate
  const { handle, found } = openLibrary(spec, bind, opts.env ?? process.env);
  return { ...handle, found, coreFrom: core.from };
}

export { LibraryNotFoundError };
