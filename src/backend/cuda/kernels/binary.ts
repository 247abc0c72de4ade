/**
 * @module backend/cuda/kernels/binary
 * Broadcasting binary kernels: one strided CUDA kernel per op and storage type. The launch
 * computes the broadcast output shape (tfjs's rules), each operand's strides along it (0 where
 * it broadcasts), and collapses axes that both walk contiguously, so the common cases (same
 * shape, a scalar, a bias row) run as rank 1 or 2.
 */
import { tf } from '../../tf.js';
import type { KernelSource } from '../kernel-source.js';
import { broadcastStrides, collapse, elementwiseLaunch } from '../shapes.js';
import { CTYPE, dims, GRID_LOOP, sourceTable, storageOf, stridedOffset, type CudaKernel, type KernelFamily, type StorageType } from './common.js';

interface BinaryOp {
  kernel: string;
  id: string;
  /** C expression of `x` and `y` per storage type. */
  expr: Partial<Record<StorageType, string>>;
  /** Comparisons and logical ops produce bool. */
  bool?: boolean;
}

const NAN_MAX = '(y > x || y != y) ? y : x';
const NAN_MIN = '(y < x || y != y) ? y : x';

export const BINARY_OPS: readonly BinaryOp[] = [
  { kernel: 'Add', id: 'add', expr: { f32: 'x + y', i32: 'x + y' } },
  { kernel: 'Sub', id: 'sub', expr: { f32: 'x - y', i32: 'x - y' } },
  { kernel: 'Multiply', id: 'mul', expr: { f32: 'x * y', i32: 'x * y' } },
  { kernel: 'RealDiv', id: 'div', expr: { f32: 'x / y' } },
  { kernel: 'Pow', id: 'pow', expr: { f32: 'powf(x, y)' } },
  { kernel: 'SquaredDifference', id: 'sqdiff', expr: { f32: '(x - y) * (x - y)', i32: '(x - y) * (x - y)' } },
  { kernel: 'Maximum', id: 'max', expr: { f32: NAN_MAX, i32: 'y > x ? y : x' } },
  { kernel: 'Minimum', id: 'min', expr: { f32: NAN_MIN, i32: 'y < x ? y : x' } },
  { kernel: 'Equal', id: 'eq', expr: { f32: 'x == y', i32: 'x == y' }, bool: true },
  { kernel: 'NotEqual', id: 'ne', expr: { f32: 'x != y', i32: 'x != y' }, bool: true },
  { kernel: 'Less', id: 'lt', expr: { f32: 'x < y', i32: 'x < y' }, bool: true },
  { kernel: 'LessEqual', id: 'le', expr: { f32: 'x <= y', i32: 'x <= y' }, bool: true },
  { kernel: 'Greater', id: 'gt', expr: { f32: 'x > y', i32: 'x > y' }, bool: true },
  { kernel: 'GreaterEqual', id: 'ge', expr: { f32: 'x >= y', i32: 'x >= y' }, bool: true },
  { kernel: 'LogicalAnd', id: 'and', expr: { i32: '(x != 0) && (y != 0)' }, bool: true },
  { kernel: 'LogicalOr', id: 'or', expr: { i32: '(x != 0) || (y != 0)' }, bool: true },
];

function binarySource(op: BinaryOp, t: StorageType): KernelSource {
  const T = CTYPE[t];
  const OUT = op.bool ? 'int' : T;
  return {
    name: `bin_${op.id}_${t}`,
    params: `${OUT}* out, const ${T}* a, const ${T}* b, int n, int rank, Dims shape, Dims sa, Dims sb`,
    body: `${GRID_LOOP} {
    ${stridedOffset([{ name: 'ia', stride: 'sa' }, { name: 'ib', stride: 'sb' }])}
    ${T} x = a[ia];
    ${T} y = b[ib];
    out[i] = (${OUT})(${op.expr[t]});
  }`,
  };
}

const sources: KernelSource[] = BINARY_OPS.flatMap((op) => (Object.keys(op.expr) as StorageType[]).map((t) => binarySource(op, t)));
const source = sourceTable(sources);

function binaryKernel(op: BinaryOp): CudaKernel {
  return {
    kernelName: op.kernel,
    kernelFunc: ({ inputs, backend }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const t = storageOf(op.kernel, a.dtype);
      if (storageOf(op.kernel, b.dtype) !== t) throw new Error(`${op.kernel}: operands of dtypes ${a.dtype} and ${b.dtype}`);
      const kernel = source(`bin_${op.id}_${t}`, op.kernel, a.dtype);
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const out = backend.output(outShape, op.bool ? 'bool' : tf.upcastType(a.dtype, b.dtype));
      const n = tf.util.sizeFromShape(outShape);
      if (n === 0) return out;
      const { shape, strides } = collapse(outShape, [broadcastStrides(outShape, a.shape), broadcastStrides(outShape, b.shape)]);
      const { grid, block } = elementwiseLaunch(n);
      backend.launch(kernel, grid, block, [backend.ptr(out), backend.ptr(a), backend.ptr(b), n, shape.length, dims(shape), dims(strides[0]!), dims(strides[1]!)]);
      return out;
    },
  };
}

export const binaryFamily: KernelFamily = { sources, kernels: BINARY_OPS.map(binaryKernel) };
