/**
 * @module backend/blas/batch-matmul
 * The wasm backend's `BatchMatMul` in a native BLAS, reading and writing the tensors where the
 * wasm backend keeps them (its WebAssembly heap): no copies in or out.
 *
 * Semantics are tfjs's: a [..., m, k] (or [..., k, m] with transposeA) times b [..., k, n] (or
 * [..., n, k]) gives [..., m, n], the leading axes broadcast numpy-style. Transposes are BLAS
 * flags, not copies. Batches whose b is shared (the usual `x·W` of a linear layer, leading axes
 * of b all 1) fold into one GEMM of batch·m rows; otherwise there is one GEMM per output batch.
 */
import { tf } from '../tf.js';
import { batchMatMulDims } from '../matmul-dims.js';
import type { Blas } from './openblas.js';

/** The parts of tfjs-backend-wasm's BackendWasm that the kernel uses. */
export interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface Args {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** Row-major strides of `shape`, with 0 on broadcast (size-1) axes. */
function broadcastStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i]!;
  }
  return strides;
}

/**
 * GEMMs below this many multiply-adds run on one thread. Handing work to OpenBLAS's other
 * threads and waiting for them costs tens of microseconds, about what a GEMM of this size takes
 * on one core (~150 GFLOP/s with the SkylakeX kernels); OpenBLAS's own cut-off (2^18) is far
 * lower, and a decoder layer is full of GEMMs in between: the LoRA products (rank 8) and the
 * per-head attention products. `node dist/bench/gemm.js` shows the crossover on a machine.
 */
export const SMALL_GEMM_MACS = 1 << 23;

/** The thread budget the kernel may use per GEMM (set by install.ts from blas_threads). */
export interface ThreadBudget {
  /** Threads for large GEMMs. */
  max: number;
  /** What the library is set to now (set only when it changes). */
  current: number;
}

/** The kernel function for `tf.registerKernel`, bound to one loaded BLAS. */
export function blasBatchMatMul(blas: Blas, budget: ThreadBudget): (args: Args) => tf.TensorInfo {
  const gemm = (ta: boolean, tb: boolean, m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number) => {
    const threads = m * n * k < SMALL_GEMM_MACS ? 1 : budget.max;
    if (threads !== budget.current && blas.setThreads(threads)) budget.current = threads;
    blas.sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
  };
  return ({ inputs, backend: anyBackend, attrs }) => {
    const backend = anyBackend as WasmBackendLike;
    const a = inputs.a!;
    const b = inputs.b!;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error('BatchMatMul for non non-float32 tensors not yet supported.');
    const { m, k, n, batchShape: lead } = batchMatMulDims(a.shape, b.shape, transposeA, transposeB);
    const leadA = a.shape.slice(0, -2);
    const leadB = b.shape.slice(0, -2);
    const out = backend.makeOutput([...lead, m, n], 'float32');
    const batches = size(lead);
    if (batches === 0 || m === 0 || n === 0) return out;
    if (k === 0) {
      backend.typedArrayFromHeap(out).fill(0);
      return out;
    }
    // Taken after makeOutput: its malloc may grow (and so move) the heap.
    const heap = blas.address(backend.wasm.HEAPU8);
    const ptr = (t: tf.TensorInfo) => heap + backend.dataIdMap.get(t.dataId).memoryOffset;
    const pa = ptr(a);
    const pb = ptr(b);
    const pc = ptr(out);
    const lda = transposeA ? m : k;
    const ldb = transposeB ? k : n;
    const strideA = m * k * 4;
    const strideB = k * n * 4;
    const strideC = m * n * 4;
    if (size(leadB) === 1 && !transposeA) {
      // b is shared and each a batch is m contiguous rows: one GEMM over batches·m rows.
      gemm(false, transposeB, batches * m, n, k, pa, lda, pb, ldb, pc, n);
      return out;
    }
    const rank = lead.length;
    const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
    const sa = broadcastStrides(pad(leadA));
    const sb = broadcastStrides(pad(leadB));
    for (let i = 0; i < batches; i++) {
      let ia = 0;
      let ib = 0;
      for (let d = rank - 1, rest = i; d >= 0; d--) {
        const coord = rest % lead[d]!;
        rest = (rest - coord) / lead[d]!;
        ia += coord * sa[d]!;
        ib += coord * sb[d]!;
      }
      gemm(transposeA, transposeB, m, n, k, pa + ia * strideA, lda, pb + ib * strideB, ldb, pc + i * strideC, n);
    }
    return out;
  };
}
