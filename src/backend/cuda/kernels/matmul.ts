/**
 * @module backend/cuda/kernels/matmul
 * BatchMatMul as one `cublasSgemmStridedBatched` call. tfjs tensors are row-major; cuBLAS is
 * column-major. A row-major X[r, c] is the column-major Xᵀ (c×r, leading dimension c), so
 *
 *   C = op(A)·op(B)  (row-major, C: m×n)   ⇔   Cᵀ = op(B)ᵀ·op(A)ᵀ  (column-major, n×m)
 *
 * i.e. cuBLAS computes with the operands swapped: its "A" is our B (transposed iff transposeB,
 * lda = transposeB ? k : n), its "B" is our A (transposed iff transposeA, ldb = transposeA ? m :
 * k), ldc = n. The transpose flags cost nothing, so no explicit transposes are needed (see
 * backend/kernels.ts: the explicit-transpose gradient is only for wasm/cpu).
 *
 * Batch dimensions broadcast (numpy rules): an operand whose batch is the whole output batch
 * has stride m·k (k·n); one with a single batch has stride 0; anything else (e.g. [2,1] against
 * [1,3]) is first broadcast into a real tensor.
 */
import { tf } from '../../tf.js';
import { batchMatMulDims } from '../../matmul-dims.js';
import type { CudaBackend } from '../backend.js';
import type { GemmCall } from '../driver.js';
import type { CudaKernel, KernelFamily } from './common.js';
import { broadcastTo } from './layout.js';

/** The cuBLAS call for row-major C[batch, m, n] = op(A)·op(B). Exported for tests. */
export function gemmCall(p: { m: number; n: number; k: number; transposeA: boolean; transposeB: boolean; a: number; b: number; c: number; strideA: number; strideB: number; batch: number }): GemmCall {
  return {
    transA: p.transposeB,
    transB: p.transposeA,
    m: p.n,
    n: p.m,
    k: p.k,
    alpha: 1,
    a: p.b,
    lda: p.transposeB ? p.k : p.n,
    strideA: p.strideB,
    b: p.a,
    ldb: p.transposeA ? p.m : p.k,
    strideB: p.strideA,
    beta: 0,
    c: p.c,
    ldc: p.n,
    strideC: p.m * p.n,
    batch: p.batch,
  };
}

function batchMatMul(backend: CudaBackend, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error(`BatchMatMul on the cuda backend is float32 only (got ${a.dtype} × ${b.dtype})`);
  const { m, k: kA, n, batchShape } = batchMatMulDims(a.shape, b.shape, transposeA, transposeB);
  const batch = tf.util.sizeFromShape(batchShape);
  const out = backend.output([...batchShape, m, n], 'float32');
  if (batch * m * n === 0) return out;
  if (kA === 0) {
    backend.fill(out, 0);
    return out;
  }
  const temps: tf.TensorInfo[] = [];
  const operand = (x: tf.TensorInfo, rows: number, cols: number): { ptr: number; stride: number } => {
    const own = tf.util.sizeFromShape(x.shape.slice(0, -2));
    if (own === 1) return { ptr: backend.ptr(x), stride: 0 };
    // Same element count as the broadcast batch: the same batch up to leading 1s.
    if (own === batch) return { ptr: backend.ptr(x), stride: rows * cols };
    const expanded = broadcastTo(backend, x, [...batchShape, ...x.shape.slice(-2)]);
    temps.push(expanded);
    return { ptr: backend.ptr(expanded), stride: rows * cols };
  };
  const A = operand(a, m, kA);
  const B = operand(b, kA, n);
  backend.gemm(gemmCall({ m, n, k: kA, transposeA, transposeB, a: A.ptr, b: B.ptr, c: backend.ptr(out), strideA: A.stride, strideB: B.stride, batch }));
  for (const t of temps) backend.disposeIntermediate(t);
  return out;
}

const kernels: CudaKernel[] = [
  {
    kernelName: 'BatchMatMul',
    kernelFunc: ({ inputs, backend, attrs }) => batchMatMul(backend, inputs.a!, inputs.b!, attrs.transposeA as boolean, attrs.transposeB as boolean),
  },
];

export const matmulFamily: KernelFamily = { sources: [], kernels };
