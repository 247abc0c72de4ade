/**
 * @module backend/cuda/kernels/values
 * Kernels about a tensor's values rather than its math: Identity and Reshape (the same buffer,
 * refcounted), Cast (a no-op cast shares the buffer; bool → int32 copies, because a buffer's
 * dtype decides what a read returns), Fill, ZerosLike, OnesLike, and Range (computed on the
 * host and uploaded, as tfjs's own GPU backends do for small index vectors).
 */
import { tf } from '../../tf.js';
import { floatBits } from '../backend.js';
import type { KernelSource } from '../kernel-source.js';
import { elementwiseLaunch } from '../shapes.js';
import { GRID_LOOP, sourceTable, storageOf, type CudaKernel, type KernelFamily } from './common.js';

const sources: KernelSource[] = [
  { name: 'cast_f2i', params: 'int* out, const float* x, int n', body: `${GRID_LOOP} { float v = x[i]; out[i] = v != v ? 0 : (int)v; }` },
  { name: 'cast_i2f', params: 'float* out, const int* x, int n', body: `${GRID_LOOP} { out[i] = (float)x[i]; }` },
  { name: 'cast_f2b', params: 'int* out, const float* x, int n', body: `${GRID_LOOP} { out[i] = x[i] != 0.0f; }` },
  { name: 'cast_i2b', params: 'int* out, const int* x, int n', body: `${GRID_LOOP} { out[i] = x[i] != 0; }` },
];
const source = sourceTable(sources);

/** The bits that store `value` as `dtype` on the device. */
function bitsOf(value: number, dtype: tf.DataType): number {
  storageOf('Fill', dtype);
  if (dtype === 'float32') return floatBits(value);
  return dtype === 'bool' ? (value ? 1 : 0) : value | 0;
}

function filled(backend: Parameters<CudaKernel['kernelFunc']>[0]['backend'], shape: number[], dtype: tf.DataType, value: number): tf.TensorInfo {
  const out = backend.output(shape, dtype);
  backend.fill(out, bitsOf(value, dtype));
  return out;
}

const kernels: CudaKernel[] = [
  { kernelName: 'Identity', kernelFunc: ({ inputs, backend }) => backend.share(inputs.x!) },
  {
    kernelName: 'Reshape',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const size = tf.util.sizeFromShape(x.shape);
      const shape = tf.util.inferFromImplicitShape(attrs.shape as number[], size);
      tf.util.assert(tf.util.sizeFromShape(shape) === size, () => `cannot reshape [${x.shape}] (${size} elements) to [${shape}]`);
      return backend.share(x, shape);
    },
  },
  {
    kernelName: 'Cast',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const dtype = attrs.dtype as tf.DataType;
      if (dtype === x.dtype) return backend.share(x);
      const from = storageOf('Cast', x.dtype);
      storageOf('Cast', dtype);
      const out = backend.output(x.shape, dtype);
      const n = tf.util.sizeFromShape(x.shape);
      if (n === 0) return out;
      if (x.dtype === 'bool' && dtype === 'int32') {
        backend.copy(out, x);
        return out;
      }
      const name = dtype === 'float32' ? 'cast_i2f' : dtype === 'bool' ? (from === 'f32' ? 'cast_f2b' : 'cast_i2b') : 'cast_f2i';
      const { grid, block } = elementwiseLaunch(n);
      backend.launch(source(name, 'Cast'), grid, block, [backend.ptr(out), backend.ptr(x), n]);
      return out;
    },
  },
  {
    kernelName: 'Fill',
    kernelFunc: ({ backend, attrs }) => {
      const { shape, value, dtype } = attrs as { shape: number[]; value: number; dtype: tf.DataType };
      return filled(backend, shape, dtype ?? tf.util.inferDtype(value), value);
    },
  },
  { kernelName: 'ZerosLike', kernelFunc: ({ inputs, backend }) => filled(backend, inputs.x!.shape, inputs.x!.dtype, 0) },
  { kernelName: 'OnesLike', kernelFunc: ({ inputs, backend }) => filled(backend, inputs.x!.shape, inputs.x!.dtype, 1) },
  {
    kernelName: 'Range',
    kernelFunc: ({ backend, attrs }) => {
      const { start, stop, step, dtype } = attrs as { start: number; stop: number; step: number; dtype: 'float32' | 'int32' };
      const n = start === stop || (step > 0 ? start > stop : start < stop) ? 0 : Math.max(0, Math.ceil(Math.abs((stop - start) / step)));
      const values = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = start + i * step;
      return { dataId: backend.write(values, [n], dtype), shape: [n], dtype };
    },
  },
];

export const valuesFamily: KernelFamily = { sources, kernels };
