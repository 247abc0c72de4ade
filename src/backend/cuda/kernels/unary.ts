/**
 * @module backend/cuda/kernels/unary
 * Elementwise unary kernels: one contiguous grid-stride kernel per op and storage type. tfjs
 * casts integer inputs to float32 before the float-only ops (exp, log, ...), so those have only
 * an f32 kernel; Neg/Abs/Square/Sign also take int32. The expressions follow tfjs's cpu kernels
 * (sigmoid = 1/(1+e^-x), relu keeps NaN, sign(0) = 0).
 */
import { tf } from '../../tf.js';
import type { KernelSource } from '../kernel-source.js';
import { elementwiseLaunch } from '../shapes.js';
import { CTYPE, GRID_LOOP, sourceTable, storageOf, type CudaKernel, type KernelFamily, type StorageType } from './common.js';

interface UnaryOp {
  kernel: string;
  id: string;
  expr: Partial<Record<StorageType, string>>;
  bool?: boolean;
}

export const UNARY_OPS: readonly UnaryOp[] = [
  { kernel: 'Neg', id: 'neg', expr: { f32: '-x', i32: '-x' } },
  { kernel: 'Abs', id: 'abs', expr: { f32: 'fabsf(x)', i32: 'x < 0 ? -x : x' } },
  { kernel: 'Square', id: 'square', expr: { f32: 'x * x', i32: 'x * x' } },
  { kernel: 'Sign', id: 'sign', expr: { f32: '(float)((x > 0.0f) - (x < 0.0f))', i32: '(x > 0) - (x < 0)' } },
  { kernel: 'Exp', id: 'exp', expr: { f32: 'expf(x)' } },
  { kernel: 'Expm1', id: 'expm1', expr: { f32: 'expm1f(x)' } },
  { kernel: 'Log', id: 'log', expr: { f32: 'logf(x)' } },
  { kernel: 'Log1p', id: 'log1p', expr: { f32: 'log1pf(x)' } },
  { kernel: 'Sqrt', id: 'sqrt', expr: { f32: 'sqrtf(x)' } },
  { kernel: 'Rsqrt', id: 'rsqrt', expr: { f32: 'rsqrtf(x)' } },
  { kernel: 'Reciprocal', id: 'recip', expr: { f32: '1.0f / x' } },
  { kernel: 'Sigmoid', id: 'sigmoid', expr: { f32: '1.0f / (1.0f + expf(-x))' } },
  { kernel: 'Tanh', id: 'tanh', expr: { f32: 'tanhf(x)' } },
  { kernel: 'Erf', id: 'erf', expr: { f32: 'erff(x)' } },
  { kernel: 'Floor', id: 'floor', expr: { f32: 'floorf(x)' } },
  { kernel: 'Ceil', id: 'ceil', expr: { f32: 'ceilf(x)' } },
  { kernel: 'Sin', id: 'sin', expr: { f32: 'sinf(x)' } },
  { kernel: 'Cos', id: 'cos', expr: { f32: 'cosf(x)' } },
  { kernel: 'Relu', id: 'relu', expr: { f32: 'x < 0.0f ? 0.0f : x', i32: 'x < 0 ? 0 : x' } },
  { kernel: 'IsNan', id: 'isnan', expr: { f32: 'x != x' }, bool: true },
  { kernel: 'LogicalNot', id: 'not', expr: { i32: 'x == 0' }, bool: true },
];

function unarySource(op: UnaryOp, t: StorageType): KernelSource {
  const T = CTYPE[t];
  const OUT = op.bool ? 'int' : T;
  return {
    name: `un_${op.id}_${t}`,
    params: `${OUT}* out, const ${T}* in, int n`,
    body: `${GRID_LOOP} {
    ${T} x = in[i];
    out[i] = (${OUT})(${op.expr[t]});
  }`,
  };
}

const sources: KernelSource[] = UNARY_OPS.flatMap((op) => (Object.keys(op.expr) as StorageType[]).map((t) => unarySource(op, t)));
const source = sourceTable(sources);

function unaryKernel(op: UnaryOp): CudaKernel {
  return {
    kernelName: op.kernel,
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x!;
      const t = storageOf(op.kernel, x.dtype);
      const kernel = source(`un_${op.id}_${t}`, op.kernel, x.dtype);
      const out = backend.output(x.shape, op.bool ? 'bool' : x.dtype);
      const n = tf.util.sizeFromShape(x.shape);
      if (n === 0) return out;
      const { grid, block } = elementwiseLaunch(n);
      backend.launch(kernel, grid, block, [backend.ptr(out), backend.ptr(x), n]);
      return out;
    },
  };
}

export const unaryFamily: KernelFamily = { sources, kernels: UNARY_OPS.map(unaryKernel) };
