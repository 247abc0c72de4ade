/**
 * @module backend/kernels
 * Fills the kernel gaps of the pure-JS backends (research/probe-notes.md §1):
 * - `UnsortedSegmentSum` (the gradient of `gather`) is missing on wasm and takes ~100 s on cpu
 *   for an embedding-sized gradient; we register a plain JS loop for both.
 * - Autodiff of `matMul` produces transposed products, which run 10-40x slower in the built-in
 *   wasm kernel; the `BatchMatMul` gradient is re-registered to transpose explicitly and then
 *   multiply plainly there (and on cpu). Where the matmul takes transposes as flags (wasm with
 *   BLAS, tensorflow, webgpu, cuda) the same gradient passes the flags, as tfjs-core's does.
 * - wasm's `Identity` copies its input, and tfjs clones (Identity) every tensor a gradient
 *   saves: 160 copies per decoder layer fwd+bwd, 10-20% of its time. Tensors are immutable, so
 *   on wasm Identity (and a Cast to the same dtype) shares the buffer by reference count, as
 *   the cpu backend's does.
 * - wasm's `Tile` computes an index per element (7-14 ms for the attention mask of one layer);
 *   the JS one here copies contiguous blocks.
 */
import { blasMatMulActive } from './blas/install.js';
import { tf } from './tf.js';

type AnyBackend = {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput?: (shape: number[], dtype: string) => tf.TensorInfo;
  typedArrayFromHeap?: (info: tf.TensorInfo) => Float32Array | Int32Array | Uint8Array;
  makeTensorInfo?: (shape: number[], dtype: string, values: Float32Array) => tf.TensorInfo;
  incRef?: (dataId: unknown) => void;
};

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

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

/** wasm Identity: the same buffer under one more reference (strings keep the copying kernel). */
function shareIdentity(copying: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const x = args.inputs.x!;
    if (x.dtype === 'string') return copying(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    (args.backend as AnyBackend).incRef!(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
}

/** wasm Cast: a cast to the dtype the tensor has (25 per layer backward) shares like Identity. */
function shareSameDtypeCast(converting: tf.KernelFunc) {
  const share = shareIdentity(converting);
  return (args: KernelArgs): tf.TensorInfo =>
    (args.attrs as { dtype: string }).dtype === args.inputs.x!.dtype ? share(args) : (converting(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo);
}

/** wasm Tile by block copies: each axis copies its sub-blocks once, then repeats them. */
function blockTile(copying: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const x = args.inputs.x!;
    if (x.dtype === 'string') return copying(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const backend = args.backend as AnyBackend;
    const reps = (args.attrs as { reps: number[] }).reps;
    const inShape = x.shape;
    const rank = inShape.length;
    const outShape = inShape.map((d, i) => d * reps[i]!);
    const out = backend.makeOutput!(outShape, x.dtype);
    if (outShape.some((d) => d === 0)) return out;
    // Input and output live in the same WebAssembly heap: one view over it (taken after
    // makeOutput, whose allocation may grow the heap) and copyWithin (a memmove) for every copy.
    const src = backend.typedArrayFromHeap!(x);
    const dst = backend.typedArrayFromHeap!(out);
    const heap = new (dst.constructor as Float32ArrayConstructor)(dst.buffer);
    const srcBase = src.byteOffset / dst.BYTES_PER_ELEMENT;
    const dstBase = dst.byteOffset / dst.BYTES_PER_ELEMENT;
    const inStride = new Array<number>(rank + 1).fill(1);
    const outStride = new Array<number>(rank + 1).fill(1);
    for (let d = rank - 1; d >= 0; d--) {
      inStride[d] = inStride[d + 1]! * inShape[d]!;
      outStride[d] = outStride[d + 1]! * outShape[d]!;
    }
    // Axes from `tail` on are not repeated: their blocks are contiguous in input and output alike.
    let tail = rank;
    while (tail > 0 && reps[tail - 1] === 1) tail--;
    // Copies the block of axes d.. at input offset `from` to output offset `to`.
    const fill = (d: number, from: number, to: number) => {
      if (d >= tail) {
        heap.copyWithin(dstBase + to, srcBase + from, srcBase + from + inStride[d]!);
        return;
      }
      if (d === rank - 1) heap.copyWithin(dstBase + to, srcBase + from, srcBase + from + inShape[d]!);
      else for (let i = 0; i < inShape[d]!; i++) fill(d + 1, from + i * inStride[d + 1]!, to + i * outStride[d + 1]!);
      const block = inShape[d]! * outStride[d + 1]!;
      for (let r = 1; r < reps[d]!; r++) heap.copyWithin(dstBase + to + r * block, dstBase + to, dstBase + to + block);
    };
    fill(0, 0, 0);
    return out;
  };
}

/** Replaces a backend's kernel, handing the replacement the original (for the cases it keeps). */
function replaceKernel(kernelName: string, backendName: string, make: (original: tf.KernelFunc) => (args: KernelArgs) => tf.TensorInfo): void {
  const original = tf.getKernel(kernelName, backendName);
  if (!original) return;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...original, kernelFunc: make(original.kernelFunc) as unknown as tf.KernelFunc });
}

/** Swap the last two axes explicitly (a real copy, so the following matMul is untransposed). */
function transposeLast2(x: tf.Tensor): tf.Tensor {
  const perm = [...Array(x.rank).keys()];
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return tf.transpose(x, perm);
}

/** Whether transposed products should be explicit copies on the backend running now. */
function explicitTransposes(): boolean {
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

let wasmInstalled = false;

/** The wasm kernel replacements; after the wasm backend registered its kernels (it is imported lazily). */
export function installWasmKernelFixes(): void {
  if (wasmInstalled || !tf.getKernel('Identity', 'wasm')) return;
  wasmInstalled = true;
  replaceKernel('Identity', 'wasm', shareIdentity);
  replaceKernel('Cast', 'wasm', shareSameDtypeCast);
  replaceKernel('Tile', 'wasm', blockTile);
}
