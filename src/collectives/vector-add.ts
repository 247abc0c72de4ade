/**
 * @module collectives/vector-add
 * `target[i] += values[i]` in float32, the all-reduce's fold. A JS loop over Float32Arrays costs
 * about 2 ns per value here (each value widened to float64, added, rounded back): 0.5 ms per MiB,
 * a third of a rank's CPU in a 2-worker all-reduce (docs/collectives.md). OpenBLAS's
 * `cblas_saxpy` with alpha 1 does the same sums in SIMD at ~0.06 ms per MiB, on the arrays' own
 * memory, with the same bits: x·1 is exact, so each element is rounded once, as IEEE
 * single-precision addition rounds it (tested over random bit patterns, subnormals included).
 *
 * The library is the one the wasm backend's matmul uses (backend/blas/openblas.ts), loaded on the
 * first long add; without it (not installed, koffi missing, `INSTRUCTUE_BLAS_LIB=none`) the JS
 * loop runs, with the same results.
 */
import { BLAS_ENV_VAR, loadBlas, type Blas } from '../backend/blas/openblas.js';

/** Below this many values the FFI call (~1 µs) costs more than the loop saves. */
const NATIVE_MIN_VALUES = 4096;
/**
 * Values per call. OpenBLAS splits an axpy over its threads above 10,000 values, and its idle
 * threads then spin: on 2 cores shared with nats-server and the peer that made the all-reduce
 * slower, not faster. Calls of at most this many stay on the calling thread whatever thread
 * count the wasm backend's matmul has set.
 */
const VALUES_PER_CALL = 8192;

type Saxpy = NonNullable<Blas['saxpy']>;

/** undefined: not tried yet; null: tried, none (stays so). */
let native: Saxpy | null | undefined;

function nativeSaxpy(): Saxpy | null {
  if (native !== undefined) return native;
  try {
    native = process.env[BLAS_ENV_VAR] === 'none' ? null : loadBlas().saxpy;
  } catch {
    native = null;
  }
  return native;
}

/** target[i] += values[i] for every i (equal lengths), each sum rounded to float32. */
export function addInto(target: Float32Array, values: Float32Array): void {
  const n = target.length;
  const saxpy = n >= NATIVE_MIN_VALUES ? nativeSaxpy() : null;
  if (saxpy) {
    for (let at = 0; at < n; at += VALUES_PER_CALL) {
      const end = Math.min(n, at + VALUES_PER_CALL);
      saxpy(end - at, 1, values.subarray(at, end), target.subarray(at, end));
    }
    return;
  }
  for (let i = 0; i < n; i++) target[i] = (target[i] as number) + (values[i] as number);
}

/** What `addInto` runs on for long vectors: 'blas' (cblas_saxpy) or 'js'. Loads the library if not tried yet. */
export function vectorAddKind(): 'blas' | 'js' {
  return nativeSaxpy() ? 'blas' : 'js';
}
