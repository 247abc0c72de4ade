/**
 * @module backend/wasm-data-kernels
 * The wasm backend's data-movement kernels, redone as reference sharing or as block copies
 * inside the WebAssembly heap (profiled on one Qwen2 layer fwd+bwd, `node dist/bench/profile.js`):
 * - `Identity` copies its input, and tfjs clones (Identity) every tensor a gradient saves: ~160
 *   copies per decoder layer, 10-20% of its time. Tensors are immutable, so Identity (and a Cast
 *   to the dtype a tensor already has) shares the buffer under one more reference, as the cpu
 *   backend does.
 * - `Slice` (and `SplitV`, which calls it directly) first copies the whole input out of the heap
 *   (`readSync`), then copies each row through a fresh `subarray`; `Concat` allocates a
 *   `subarray` per row too; `Tile` computes an index per element. Here every copy is a
 *   memmove (`copyWithin`) on one view of the heap: no allocations, contiguous runs merged.
 * - `GatherV2` computes a source index per element; here it is one memmove per gathered row.
 * String tensors keep the original kernels.
 */
import { tf } from './tf.js';

type HeapArray = Float32Array | Int32Array | Uint8Array;

/** The parts of tfjs-backend-wasm's BackendWasm used here. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): HeapArray;
  incRef(dataId: unknown): void;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

const sizeOf = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * One view over the whole heap of `like`'s element type and the element offsets of `infos` in
 * it. Taken after every makeOutput: an allocation may grow the heap and detach older views.
 */
function heapOf(backend: WasmBackend, infos: tf.TensorInfo[]): { heap: HeapArray; at: number[] } {
  const views = infos.map((t) => backend.typedArrayFromHeap(t));
  const first = views[0]!;
  const heap = new (first.constructor as Float32ArrayConstructor)(first.buffer) as HeapArray;
  return { heap, at: views.map((v) => v.byteOffset / first.BYTES_PER_ELEMENT) };
}

/** heap[to..to+n) = heap[from..from+n) for non-overlapping runs: a memmove, or a plain loop for runs too short to pay for a copyWithin call (RoPE halves of small heads). */
function move(heap: HeapArray, to: number, from: number, n: number): void {
  if (n < 12) for (let i = 0; i < n; i++) heap[to + i] = heap[from + i]!;
  else heap.copyWithin(to, from, from + n);
}

function share(backend: WasmBackend, x: tf.TensorInfo, shape = x.shape): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: shape.slice(), dtype: x.dtype };
}

function identity(original: tf.KernelFunc): Kernel {
  return (args) => {
    const x = args.inputs.x!;
    return x.dtype === 'string' ? (original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo) : share(args.backend as WasmBackend, x);
  };
}

function cast(original: tf.KernelFunc): Kernel {
  return (args) => {
    const x = args.inputs.x!;
    const same = (args.attrs as { dtype: string }).dtype === x.dtype && x.dtype !== 'string';
    return same ? share(args.backend as WasmBackend, x) : (original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo);
  };
}

/** Copies the box `begin`+`size` of `x` into a new tensor, one memmove per contiguous run. */
function sliceBox(backend: WasmBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (sizeOf(size) === 0) return out;
  const rank = x.shape.length;
  const strides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1]! * x.shape[d + 1]!;
  // Axes after `d` are whole: with axis d they form one contiguous run of `run` elements.
  let d = rank - 1;
  while (d > 0 && size[d] === x.shape[d]) d--;
  const run = rank === 0 ? 1 : size[d]! * strides[d]!;
  const { heap, at } = heapOf(backend, [x, out]);
  const index = new Array<number>(Math.max(d, 0)).fill(0);
  const runs = sizeOf(size.slice(0, Math.max(d, 0)));
  let to = at[1]!;
  for (let r = 0; r < runs; r++) {
    let from = at[0]! + (rank === 0 ? 0 : begin[d]! * strides[d]!);
    for (let j = 0; j < d; j++) from += (begin[j]! + index[j]!) * strides[j]!;
    move(heap, to, from, run);
    to += run;
    for (let j = d - 1; j >= 0 && ++index[j]! === size[j]; j--) index[j] = 0;
  }
  return out;
}

function slice(original: tf.KernelFunc): Kernel {
  return (args) => {
    const x = args.inputs.x!;
    if (x.dtype === 'string') return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    return sliceBox(args.backend as WasmBackend, x, b, s);
  };
}

function splitV(original: tf.KernelFunc): Kernel {
  return (args) => {
    const x = args.inputs.x!;
    if (x.dtype === 'string') return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo[];
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const splits = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return splits.map((s) => {
      const size = x.shape.slice();
      size[$axis] = s;
      const piece = sliceBox(args.backend as WasmBackend, x, begin.slice(), size);
      begin[$axis] += s;
      return piece;
    });
  };
}

function concat(original: tf.KernelFunc): Kernel {
  return (args) => {
    const all = args.inputs as unknown as tf.TensorInfo[];
    if (all[0]!.dtype === 'string') return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const backend = args.backend as WasmBackend;
    const axis = tf.util.parseAxisParam((args.attrs as { axis: number }).axis, all[0]!.shape)[0]!;
    tf.backend_util.assertParamsConsistent(all.map((t) => t.shape), axis);
    const outShape = tf.backend_util.computeOutShape(all.map((t) => t.shape), axis);
    const inputs = all.filter((t) => sizeOf(t.shape) > 0);
    if (inputs.length === 1) return share(backend, inputs[0]!, outShape);
    const out = backend.makeOutput(outShape, all[0]!.dtype);
    if (inputs.length === 0) return out;
    const rows = sizeOf(outShape.slice(0, axis));
    const widths = inputs.map((t) => sizeOf(t.shape.slice(axis)));
    const total = widths.reduce((a, w) => a + w, 0);
    const { heap, at } = heapOf(backend, [...inputs, out]);
    const base = at[inputs.length]!;
    let column = 0;
    inputs.forEach((_, i) => {
      const w = widths[i]!;
      for (let r = 0; r < rows; r++) move(heap, base + r * total + column, at[i]! + r * w, w);
      column += w;
    });
    return out;
  };
}

/**
 * GatherV2: out[b, o, i, :] = x[b, o, indices[b, i], :], one memmove per gathered slice (the
 * built-in computes every element's source index: 9 ms for 3,456 embedding rows of 32 floats).
 */
function gatherV2(original: tf.KernelFunc): Kernel {
  return (args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    if (x.dtype === 'string') return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const backend = args.backend as WasmBackend;
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x as tf.Tensor, indices as tf.Tensor, $axis, batchDims);
    const ids = backend.typedArrayFromHeap(indices);
    const dim = x.shape[$axis]!;
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i]! >= 0 && ids[i]! <= dim - 1)) throw new Error(`GatherV2: the index value ${ids[i]} is not in [0, ${dim - 1}]`);
    }
    const out = backend.makeOutput(info.outputShape, x.dtype);
    if (sizeOf(info.outputShape) === 0 || sizeOf(x.shape) === 0) return out;
    const { heap, at } = heapOf(backend, [x, indices, out]);
    const index = backend.typedArrayFromHeap(indices) as Int32Array;
    const { batchSize, outerSize, dimSize, sliceSize } = info;
    const perBatch = index.length / batchSize;
    let to = at[2]!;
    for (let b = 0; b < batchSize; b++) {
      for (let o = 0; o < outerSize; o++) {
        const from = at[0]! + (b * outerSize + o) * dimSize * sliceSize;
        for (let i = 0; i < perBatch; i++) {
          const row = from + index[b * perBatch + i]! * sliceSize;
          move(heap, to, row, sliceSize);
          to += sliceSize;
        }
      }
    }
    return out;
  };
}

/** Tile: each axis copies its sub-blocks once, then repeats the filled block. */
function tile(original: tf.KernelFunc): Kernel {
  return (args) => {
    const x = args.inputs.x!;
    if (x.dtype === 'string') return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const backend = args.backend as WasmBackend;
    const reps = (args.attrs as { reps: number[] }).reps;
    const inShape = x.shape;
    const rank = inShape.length;
    const outShape = inShape.map((d, i) => d * reps[i]!);
    const out = backend.makeOutput(outShape, x.dtype);
    if (sizeOf(outShape) === 0) return out;
    const { heap, at } = heapOf(backend, [x, out]);
    const [src, dst] = at as [number, number];
    // inStride[d] / outStride[d]: elements of one block of axes d.. (index rank = 1 element).
    const inStride = new Array<number>(rank + 1).fill(1);
    const outStride = new Array<number>(rank + 1).fill(1);
    for (let d = rank - 1; d >= 0; d--) {
      inStride[d] = inStride[d + 1]! * inShape[d]!;
      outStride[d] = outStride[d + 1]! * outShape[d]!;
    }
    // Axes from `tail` on are not repeated: their blocks are contiguous in input and output alike.
    let tail = rank;
    while (tail > 0 && reps[tail - 1] === 1) tail--;
    const fill = (d: number, from: number, to: number) => {
      if (d >= tail) {
        heap.copyWithin(dst + to, src + from, src + from + inStride[d]!);
        return;
      }
      if (d === rank - 1) heap.copyWithin(dst + to, src + from, src + from + inShape[d]!);
      else for (let i = 0; i < inShape[d]!; i++) fill(d + 1, from + i * inStride[d + 1]!, to + i * outStride[d + 1]!);
      const block = inShape[d]! * outStride[d + 1]!;
      for (let r = 1; r < reps[d]!; r++) heap.copyWithin(dst + to + r * block, dst + to, dst + to + block);
    };
    fill(0, 0, 0);
    return out;
  };
}

const REPLACEMENTS: Record<string, (original: tf.KernelFunc) => Kernel> = { Identity: identity, Cast: cast, Slice: slice, SplitV: splitV, Concat: concat, Tile: tile, GatherV2: gatherV2 };

let installed = false;

/** Replaces the wasm kernels above; after the wasm backend registered its own (it is imported lazily). */
export function installWasmDataKernels(): void {
  if (installed || !tf.getKernel('Identity', 'wasm')) return;
  installed = true;
  for (const [name, make] of Object.entries(REPLACEMENTS)) {
    const original = tf.getKernel(name, 'wasm')!;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...original, kernelFunc: make(original.kernelFunc) as unknown as tf.KernelFunc });
  }
}
