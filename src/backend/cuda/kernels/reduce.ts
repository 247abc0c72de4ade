/**
 * @module backend/cuda/kernels/reduce
 * Reductions (Sum, Mean, Prod, Max, Min, ArgMax, ArgMin) and Softmax. Like tfjs's own
 * backends, the reduced axes are first transposed innermost, so every reduction is over the
 * rows of an [outer, inner] matrix: one block per row, each thread folds a strided part of the
 * row, then a shared-memory tree (power-of-two blocks, `__syncthreads` between levels). Max/Min
 * propagate NaN as tfjs's cpu kernels do; Arg* keep the first index of the extreme value.
 *
 * Softmax (last axis, tfjs's only case) is three block passes over the row: max, Σ exp(x − max),
 * then the normalised write.
 */
import { tf } from '../../tf.js';
import type { CudaBackend } from '../backend.js';
import type { KernelSource } from '../kernel-source.js';
import { rowLaunch } from '../shapes.js';
import { sourceTable, storageOf, type CudaKernel, type KernelFamily } from './common.js';
import { transpose } from './layout.js';

interface Fold {
  /** Accumulator C type, identity value, and `a = combine(a, b)` as an expression of a, b. */
  acc: string;
  init: string;
  combine: string;
}

const FOLDS: Record<string, Fold> = {
  sum_f32: { acc: 'float', init: '0.0f', combine: 'a + b' },
  sum_i32: { acc: 'int', init: '0', combine: 'a + b' },
  prod_f32: { acc: 'float', init: '1.0f', combine: 'a * b' },
  prod_i32: { acc: 'int', init: '1', combine: 'a * b' },
  max_f32: { acc: 'float', init: 'neg_inf_f()', combine: '(b > a || b != b) ? b : a' },
  max_i32: { acc: 'int', init: '(-2147483647 - 1)', combine: 'b > a ? b : a' },
  min_f32: { acc: 'float', init: 'pos_inf_f()', combine: '(b < a || b != b) ? b : a' },
  min_i32: { acc: 'int', init: '2147483647', combine: 'b < a ? b : a' },
};

/** Block-wide fold of `value` (of type acc) into s[0]; every thread must call it. */
function blockFold(fold: Fold, value: string): string {
  return `s[threadIdx.x] = ${value};
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) { ${fold.acc} a = s[threadIdx.x], b = s[threadIdx.x + w]; s[threadIdx.x] = ${fold.combine}; }
    __syncthreads();
  }`;
}

function reduceSource(key: string, inType: string, outType: string): KernelSource {
  const fold = FOLDS[key]!;
  return {
    name: `reduce_${key}`,
    params: `${outType}* out, const ${inType}* x, int cols, float scale`,
    barrier: true,
    body: `__shared__ ${fold.acc} s[256];
  const ${inType}* row = x + blockIdx.x * cols;
  ${fold.acc} acc = ${fold.init};
  for (int c = threadIdx.x; c < cols; c += blockDim.x) { ${fold.acc} a = acc, b = (${fold.acc})row[c]; acc = ${fold.combine}; }
  ${blockFold(fold, 'acc')}
  if (threadIdx.x == 0) out[blockIdx.x] = ${fold.acc === 'float' && key.startsWith('sum') ? 's[0] * scale' : 's[0]'};`,
  };
}

function argSource(kind: 'max' | 'min', t: 'f32' | 'i32'): KernelSource {
  const T = t === 'f32' ? 'float' : 'int';
  const better = kind === 'max' ? '>' : '<';
  const init = t === 'f32' ? (kind === 'max' ? 'neg_inf_f()' : 'pos_inf_f()') : kind === 'max' ? '(-2147483647 - 1)' : '2147483647';
  const pick = `(vb ${better} va || (vb == va && ib < ia))`;
  return {
    name: `arg${kind}_${t}`,
    params: `int* out, const ${T}* x, int cols`,
    barrier: true,
    body: `__shared__ ${T} sv[256];
  __shared__ int si[256];
  const ${T}* row = x + blockIdx.x * cols;
  ${T} va = ${init};
  int ia = 2147483647;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) { ${T} vb = row[c]; int ib = c; if ${pick} { va = vb; ia = ib; } }
  sv[threadIdx.x] = va; si[threadIdx.x] = ia;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) {
      ${T} vb = sv[threadIdx.x + w]; int ib = si[threadIdx.x + w];
      va = sv[threadIdx.x]; ia = si[threadIdx.x];
      if ${pick} { sv[threadIdx.x] = vb; si[threadIdx.x] = ib; }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = si[0] == 2147483647 ? 0 : si[0];`,
  };
}

const softmaxSource: KernelSource = {
  name: 'softmax_f32',
  params: 'float* out, const float* x, int cols',
  barrier: true,
  body: `__shared__ float s[256];
  const float* row = x + blockIdx.x * cols;
  float* dst = out + blockIdx.x * cols;
  float acc = neg_inf_f();
  for (int c = threadIdx.x; c < cols; c += blockDim.x) { float a = acc, b = row[c]; acc = ${FOLDS.max_f32!.combine}; }
  ${blockFold(FOLDS.max_f32!, 'acc')}
  float m = s[0];
  __syncthreads();
  float sum = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) sum += expf(row[c] - m);
  ${blockFold(FOLDS.sum_f32!, 'sum')}
  float total = s[0];
  for (int c = threadIdx.x; c < cols; c += blockDim.x) dst[c] = expf(row[c] - m) / total;`,
};

const sources: KernelSource[] = [
  reduceSource('sum_f32', 'float', 'float'),
  reduceSource('sum_i32', 'int', 'int'),
  { ...reduceSource('sum_f32', 'int', 'float'), name: 'reduce_mean_i32' },
  reduceSource('prod_f32', 'float', 'float'),
  reduceSource('prod_i32', 'int', 'int'),
  reduceSource('max_f32', 'float', 'float'),
  reduceSource('max_i32', 'int', 'int'),
  reduceSource('min_f32', 'float', 'float'),
  reduceSource('min_i32', 'int', 'int'),
  argSource('max', 'f32'),
  argSource('max', 'i32'),
  argSource('min', 'f32'),
  argSource('min', 'i32'),
  softmaxSource,
];
const source = sourceTable(sources);

/** `x` with `axes` moved innermost, as [outer, inner]: the shapes and the (maybe transposed) tensor. */
function rowsOf(backend: CudaBackend, x: tf.TensorInfo, axes: number[]): { input: tf.TensorInfo; outShape: number[]; cols: number; temp: boolean } {
  const perm = tf.backend_util.getAxesPermutation(axes, x.shape.length);
  let input = x;
  let inner = axes;
  if (perm !== null) {
    input = transpose(backend, x, perm);
    inner = tf.backend_util.getInnerMostAxes(axes.length, x.shape.length);
  }
  const [outShape, reduceShape] = tf.backend_util.computeOutAndReduceShapes(input.shape, inner);
  return { input, outShape, cols: tf.util.sizeFromShape(reduceShape), temp: perm !== null };
}

type ReduceKind = 'sum' | 'mean' | 'prod' | 'max' | 'min';

function reduceKernel(kernelName: string, kind: ReduceKind, axisAttr: 'axis' | 'reductionIndices'): CudaKernel {
  return {
    kernelName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
      const t = storageOf(kernelName, x.dtype);
      const { input, outShape, cols, temp } = rowsOf(backend, x, axes);
      let name = `reduce_${kind}_${t}`;
      let dtype: tf.DataType = x.dtype === 'bool' && kind !== 'max' && kind !== 'min' ? 'int32' : x.dtype;
      if (kind === 'mean') {
        name = t === 'f32' ? 'reduce_sum_f32' : 'reduce_mean_i32';
        dtype = 'float32';
      }
      const kernel = source(name, kernelName, x.dtype);
      const rows = tf.util.sizeFromShape(outShape);
      const out = backend.output(outShape, dtype);
      if (rows > 0) {
        const { grid, block } = rowLaunch(rows, cols);
        const scale = kind === 'mean' ? 1 / cols : 1;
        backend.launch(kernel, grid, block, [backend.ptr(out), cols > 0 ? backend.ptr(input) : backend.ptr(out), cols, scale]);
      }
      if (temp) backend.disposeIntermediate(input);
      if (attrs.keepDims) {
        const kept = backend.share(out, tf.backend_util.expandShapeToKeepDim(outShape, axes));
        backend.disposeIntermediate(out);
        return kept;
      }
      return out;
    },
  };
}

function argKernel(kernelName: string, kind: 'max' | 'min'): CudaKernel {
  return {
    kernelName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const axes = tf.util.parseAxisParam(attrs.axis as number, x.shape);
      const t = storageOf(kernelName, x.dtype);
      const { input, outShape, cols, temp } = rowsOf(backend, x, axes);
      const rows = tf.util.sizeFromShape(outShape);
      const out = backend.output(outShape, 'int32');
      if (rows > 0) {
        const { grid, block } = rowLaunch(rows, cols);
        backend.launch(source(`arg${kind}_${t}`, kernelName, x.dtype), grid, block, [backend.ptr(out), backend.ptr(input), cols]);
      }
      if (temp) backend.disposeIntermediate(input);
      return out;
    },
  };
}

const softmaxKernel: CudaKernel = {
  kernelName: 'Softmax',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const logits = inputs.logits!;
    const dim = attrs.dim as number;
    const rank = logits.shape.length;
    if (dim !== -1 && dim !== rank - 1) throw new Error(`Softmax over axis ${dim} of a rank-${rank} tensor (tfjs supports the last axis only)`);
    storageOf('Softmax', logits.dtype);
    const out = backend.output(logits.shape, 'float32');
    const cols = logits.shape[rank - 1] ?? 1;
    const rows = cols > 0 ? tf.util.sizeFromShape(logits.shape) / cols : 0;
    if (rows > 0) {
      const { grid, block } = rowLaunch(rows, cols);
      backend.launch(source('softmax_f32', 'Softmax'), grid, block, [backend.ptr(out), backend.ptr(logits), cols]);
    }
    return out;
  },
};

export const reduceFamily: KernelFamily = {
  sources,
  kernels: [
    reduceKernel('Sum', 'sum', 'axis'),
    reduceKernel('Mean', 'mean', 'axis'),
    reduceKernel('Prod', 'prod', 'axis'),
    reduceKernel('Max', 'max', 'reductionIndices'),
    reduceKernel('Min', 'min', 'axis'),
    argKernel('ArgMax', 'max'),
    argKernel('ArgMin', 'min'),
    softmaxKernel,
  ],
};
