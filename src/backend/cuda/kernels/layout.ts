/**
 * @module backend/cuda/kernels/layout
 * Kernels that move elements without arithmetic: Transpose, Slice, SplitV, Concat, Tile,
 * PadV2, plus the strided copy other families reuse (reductions transpose the reduced axes
 * innermost; BatchMatMul materialises a partly broadcast batch). All of them copy 4-byte
 * words, so one kernel serves float32, int32 and bool.
 *
 * - Slice/SplitV of a contiguous range is one device-to-device copy; otherwise a strided copy
 *   (out[i] = in[offset + Σ index_d·stride_d] with the input's strides, collapsed).
 * - Concat copies each input into its column range of the [outer, Σ inner] output.
 */
import { tf } from '../../tf.js';
import type { CudaBackend } from '../backend.js';
import type { KernelSource } from '../kernel-source.js';
import { broadcastStrides, collapse, contiguousStrides, elementwiseLaunch } from '../shapes.js';
import { dims, GRID_LOOP, sourceTable, stridedOffset, type CudaKernel, type KernelFamily } from './common.js';

const sources: KernelSource[] = [
  {
    name: 'copy_strided',
    params: 'int* out, const int* in, int n, int rank, Dims shape, Dims stride, int offset',
    body: `${GRID_LOOP} {
    ${stridedOffset([{ name: 'j', stride: 'stride' }], 'offset')}
    out[i] = in[j];
  }`,
  },
  {
    name: 'tile',
    params: 'int* out, const int* in, int n, int rank, Dims shape, Dims inShape, Dims inStride',
    body: `${GRID_LOOP} {
    int j = 0, r = i;
    for (int d = rank - 1; d >= 0; d--) { int c = r % shape.d[d]; r /= shape.d[d]; j += (c % inShape.d[d]) * inStride.d[d]; }
    out[i] = in[j];
  }`,
  },
  {
    name: 'copy_columns',
    params: 'int* out, const int* in, int n, int cols, int outCols, int colOffset',
    body: `${GRID_LOOP} {
    int r = i / cols, c = i - r * cols;
    out[r * outCols + colOffset + c] = in[i];
  }`,
  },
  {
    name: 'pad',
    params: 'int* out, const int* in, int n, int rank, Dims shape, Dims before, Dims inShape, int fill',
    body: `${GRID_LOOP} {
    int j = 0, r = i, inside = 1, scale = 1;
    for (int d = rank - 1; d >= 0; d--) {
      int c = r % shape.d[d] - before.d[d]; r /= shape.d[d];
      if (c < 0 || c >= inShape.d[d]) inside = 0;
      j += c * scale; scale *= inShape.d[d];
    }
    out[i] = inside ? in[j] : fill;
  }`,
  },
];
const source = sourceTable(sources);

/** out[i] = x[offset + strided index i] over `shape` (the element order of a row-major `shape`). */
export function stridedCopy(backend: CudaBackend, x: tf.TensorInfo, shape: number[], strides: number[], offset: number): tf.TensorInfo {
  const out = backend.output(shape, x.dtype);
  const n = tf.util.sizeFromShape(shape);
  if (n === 0) return out;
  const c = collapse(shape, [strides]);
  const { grid, block } = elementwiseLaunch(n);
  backend.launch(source('copy_strided', 'copy'), grid, block, [backend.ptr(out), backend.ptr(x), n, c.shape.length, dims(c.shape), dims(c.strides[0]!), offset]);
  return out;
}

export function transpose(backend: CudaBackend, x: tf.TensorInfo, perm: readonly number[]): tf.TensorInfo {
  const inStrides = contiguousStrides(x.shape);
  return stridedCopy(backend, x, perm.map((p) => x.shape[p]!), perm.map((p) => inStrides[p]!), 0);
}

/** `x` broadcast to `shape` as a real tensor (numpy rules). */
export function broadcastTo(backend: CudaBackend, x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return stridedCopy(backend, x, shape, broadcastStrides(shape, x.shape), 0);
}

export function slice(backend: CudaBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const n = tf.util.sizeFromShape(size);
  const strides = contiguousStrides(x.shape);
  const offset = begin.reduce((o, b, d) => o + b * strides[d]!, 0);
  if (n > 0 && tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const out = backend.output(size, x.dtype);
    backend.driver.copy(backend.ptr(out), backend.ptr(x) + 4 * offset, 4 * n);
    return out;
  }
  return stridedCopy(backend, x, size, strides, offset);
}

const kernels: CudaKernel[] = [
  {
    kernelName: 'Transpose',
    kernelFunc: ({ inputs, backend, attrs }) => transpose(backend, inputs.x!, attrs.perm as number[]),
  },
  {
    kernelName: 'Slice',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
      tf.slice_util.assertParamsValid(x, begin!, size!);
      return slice(backend, x, begin!, size!);
    },
  },
  {
    kernelName: 'SplitV',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
      const sizes = tf.backend_util.prepareSplitSize(x, attrs.numOrSizeSplits as number[] | number, axis);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((s) => {
        const size = [...x.shape];
        size[axis] = s;
        const part = slice(backend, x, [...begin], size);
        begin[axis]! += s;
        return part;
      });
    },
  },
  {
    kernelName: 'Concat',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const all = Object.values(inputs);
      const axis = tf.util.parseAxisParam(attrs.axis as number, all[0]!.shape)[0]!;
      const outShape = tf.backend_util.computeOutShape(all.map((t) => t.shape), axis);
      const parts = all.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
      const out = backend.output(outShape, all[0]!.dtype);
      if (parts.length === 0) return out;
      const outCols = tf.util.sizeFromShape(outShape.slice(axis));
      let colOffset = 0;
      for (const part of parts) {
        const n = tf.util.sizeFromShape(part.shape);
        const cols = tf.util.sizeFromShape(part.shape.slice(axis));
        if (cols === outCols) backend.driver.copy(backend.ptr(out) + 4 * colOffset, backend.ptr(part), 4 * n);
        else {
          const { grid, block } = elementwiseLaunch(n);
          backend.launch(source('copy_columns', 'Concat'), grid, block, [backend.ptr(out), backend.ptr(part), n, cols, outCols, colOffset]);
        }
        colOffset += cols;
      }
      return out;
    },
  },
  {
    kernelName: 'Tile',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const reps = attrs.reps as number[];
      const shape = x.shape.map((s, d) => s * reps[d]!);
      const out = backend.output(shape, x.dtype);
      const n = tf.util.sizeFromShape(shape);
      if (n === 0) return out;
      const { grid, block } = elementwiseLaunch(n);
      backend.launch(source('tile', 'Tile'), grid, block, [backend.ptr(out), backend.ptr(x), n, shape.length, dims(shape), dims(x.shape), dims(contiguousStrides(x.shape))]);
      return out;
    },
  },
  {
    kernelName: 'PadV2',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const paddings = attrs.paddings as [number, number][];
      const shape = x.shape.map((s, d) => paddings[d]![0] + s + paddings[d]![1]);
      const out = backend.output(shape, x.dtype);
      const n = tf.util.sizeFromShape(shape);
      if (n === 0) return out;
      const value = attrs.constantValue as number;
      const fill = x.dtype === 'float32' ? new Int32Array(Float32Array.of(value).buffer)[0]! : value | 0;
      const { grid, block } = elementwiseLaunch(n);
      const inShape = x.shape.length === 0 ? [1] : x.shape;
      backend.launch(source('pad', 'PadV2'), grid, block, [backend.ptr(out), tf.util.sizeFromShape(x.shape) > 0 ? backend.ptr(x) : backend.ptr(out), n, Math.max(1, shape.length), dims(shape.length ? shape : [1]), dims(paddings.length ? paddings.map((p) => p[0]) : [0]), dims(inShape), fill]);
      return out;
    },
  },
];

export const layoutFamily: KernelFamily = { sources, kernels };
