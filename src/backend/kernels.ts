/**
 * @module backend/kernels
 * Fills the kernel gaps of the pure-JS backends (research/probe-notes.md §1):
 * - `UnsortedSegmentSum` (the gradient of `gather`) is missing on wasm and takes ~100 s on cpu
 *   for an embedding-sized gradient; we register a plain JS loop for both.
 * - Autodiff of `matMul` produces transposed products, which run 10-40x slower in the built-in
 *   wasm kernel; the `BatchMatMul` gradient is re-registered to transpose explicitly and then
 *   multiply plainly there (and on cpu). Gradients are registered for all backends at once, so
 *   the override decides per call: where the matmul takes transposes as flags (wasm with BLAS,
 *   cuda's cuBLAS, webgpu, tensorflow) it passes the flags, exactly tfjs's own gradient.
 * The wasm backend's data-movement kernels are replaced in wasm-data-kernels.ts.
 */
import { blasMatMulActive } from './blas/install.js';
import { tf } from './tf.js';

type AnyBackend = {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput?: (shape: number[], dtype: string) => tf.TensorInfo;
  typedArrayFromHeap?: (info: tf.TensorInfo) => Float32Array | Int32Array;
  makeTensorInfo?: (shape: number[], dtype: string, values: Float32Array) => tf.TensorInfo;
};

/** JS UnsortedSegmentSum: out[ids[i], ...] += x[i, ...]. Works on wasm and cpu. */
function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as AnyBackend;
  const x = args.inputs.x!;
  const ids = args.inputs.segmentIds!;
  const numSegments = (args.attrs as { numSegments: number }).numSegments;
  const rows = ids.shape.reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(ids.shape.length).reduce((a, b) => a * b, 1);
  const outShape = [numSegments, ...x.shape.slice(ids.shape.length)];
  const xv = backend.readSync(x.dataId) as Float32Array;
  const iv = backend.readSync(ids.dataId) as Int32Array;
  const sum = (out: Float32Array) => {
    for (let r = 0; r < rows; r++) {
      const seg = iv[r]!;
      if (seg < 0 || seg >= numSegments) continue; // tf semantics: out-of-range ids are dropped
      const o = seg * inner;
      const i = r * inner;
      for (let k = 0; k < inner; k++) out[o + k] += xv[i + k]!;
    }
  };
  if (backend.makeOutput && backend.typedArrayFromHeap) {
    const out = backend.makeOutput(outShape, 'float32');
    const values = backend.typedArrayFromHeap(out) as Float32Array;
    values.fill(0);
    sum(values);
    return out;
  }
  const values = new Float32Array(numSegments * inner);
  sum(values);
  return backend.makeTensorInfo!(outShape, 'float32', values);
}

/** Swap the last two axes explicitly (a real copy, so the following matMul is untransposed). */
function transposeLast2(x: tf.Tensor): tf.Tensor {
  const perm = [...Array(x.rank).keys()];
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return tf.transpose(x, perm);
}

let transposeMode: 'auto' | 'explicit' | 'flags' = 'auto';

/** Forces the gradient's transposes one way (benchmarks comparing both); 'auto' is the default. */
export function setGradientTransposes(mode: 'auto' | 'explicit' | 'flags'): void {
  transposeMode = mode;
}

/** Whether transposed products should be explicit copies on the backend running now. */
function explicitTransposes(): boolean {
  if (transposeMode !== 'auto') return transposeMode === 'explicit';
  const backend = tf.getBackend();
  return backend === 'cpu' || (backend === 'wasm' && !blasMatMulActive());
}

const mm = (a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean) =>
  explicitTransposes() ? tf.matMul(ta ? transposeLast2(a) : a, tb ? transposeLast2(b) : b) : tf.matMul(a, b, ta, tb);

/** BatchMatMul gradient (tfjs-core's math), with explicit transposes where they are faster. */
const batchMatMulGrad: tf.GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const dyT = dy as tf.Tensor;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return { a: () => mm(dyT, b, false, true), b: () => mm(a, dyT, true, false) };
    if (!transposeA && transposeB) return { a: () => mm(dyT, b, false, false), b: () => mm(dyT, a, true, false) };
    if (transposeA && !transposeB) return { a: () => mm(b, dyT, false, true), b: () => mm(a, dyT, false, false) };
    return { a: () => mm(b, dyT, true, true), b: () => mm(dyT, a, true, true) };
  },
};

let installed = false;

/** Register the JS kernels and the gradient override once per process. */
export function installKernelFixes(): void {
  if (installed) return;
  installed = true;
  for (const backendName of ['wasm', 'cpu']) {
    if (tf.getKernel('UnsortedSegmentSum', backendName)) tf.unregisterKernel('UnsortedSegmentSum', backendName);
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName, kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc });
  }
  tf.registerGradient(batchMatMulGrad);
}
