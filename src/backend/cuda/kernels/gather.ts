/**
 * @module backend/cuda/kernels/gather
 * Index-driven kernels: GatherV2 (with batch dims; out-of-range indices read 0, as tfjs's GPU
 * backends do, where its cpu backend throws), OneHot, and UnsortedSegmentSum — the gradient of
 * gather — as a zero fill plus one atomicAdd per element (ids outside [0, numSegments) are
 * dropped, tf semantics). Atomic float sums are order-dependent on a GPU, so that gradient
 * matches the cpu backend to rounding, not bit for bit.
 */
import { BackendError } from '../../../errors.js';
import { tf } from '../../tf.js';
import type { KernelSource } from '../kernel-source.js';
import { elementwiseLaunch } from '../shapes.js';
import { floatBits } from '../backend.js';
import { CTYPE, GRID_LOOP, sourceTable, storageOf, type CudaKernel, type KernelFamily, type StorageType } from './common.js';

const sources: KernelSource[] = [
  {
    name: 'gather',
    params: 'int* out, const int* x, const int* idx, int n, int outer, int nIdx, int axisDim, int inner',
    body: `${GRID_LOOP} {
    int k = i % inner, r = i / inner;
    int j = r % nIdx; r /= nIdx;
    int o = r % outer, b = r / outer;
    int id = idx[b * nIdx + j];
    out[i] = (id >= 0 && id < axisDim) ? x[((b * outer + o) * axisDim + id) * inner + k] : 0;
  }`,
  },
  ...(['f32', 'i32'] as StorageType[]).map((t): KernelSource => ({
    name: `onehot_${t}`,
    params: `${CTYPE[t]}* out, const int* idx, int n, int depth, ${CTYPE[t]} on, ${CTYPE[t]} off`,
    body: `${GRID_LOOP} { out[i] = idx[i / depth] == i % depth ? on : off; }`,
  })),
  {
    name: 'segment_sum_f32',
    params: 'float* out, const float* x, const int* ids, int n, int inner, int segments',
    body: `${GRID_LOOP} {
    int seg = ids[i / inner];
    if (seg >= 0 && seg < segments) atomicAdd(out + seg * inner + i % inner, x[i]);
  }`,
  },
];
const source = sourceTable(sources);

const kernels: CudaKernel[] = [
  {
    kernelName: 'GatherV2',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      storageOf('GatherV2', x.dtype);
      if (indices.dtype !== 'int32') throw new Error(`GatherV2: indices of dtype ${indices.dtype}`);
      const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
      const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x, indices, axis, attrs.batchDims as number);
      const out = backend.output(info.outputShape, x.dtype);
      const n = tf.util.sizeFromShape(info.outputShape);
      if (n === 0) return out;
      const nIdx = tf.util.sizeFromShape(indices.shape) / info.batchSize;
      const { grid, block } = elementwiseLaunch(n);
      backend.launch(source('gather', 'GatherV2'), grid, block, [backend.ptr(out), backend.ptr(x), backend.ptr(indices), n, info.outerSize, nIdx, info.dimSize, info.sliceSize]);
      return out;
    },
  },
  {
    kernelName: 'OneHot',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const indices = inputs.indices!;
      const { depth, onValue, offValue, dtype } = attrs as { depth: number; onValue: number; offValue: number; dtype: tf.DataType };
      const t = storageOf('OneHot', dtype);
      const out = backend.output([...indices.shape, depth], dtype);
      const n = tf.util.sizeFromShape(out.shape);
      if (n === 0) return out;
      const { grid, block } = elementwiseLaunch(n);
      backend.launch(source(`onehot_${t}`, 'OneHot', dtype), grid, block, [backend.ptr(out), backend.ptr(indices), n, depth, onValue, offValue]);
      return out;
    },
  },
  {
    kernelName: 'UnsortedSegmentSum',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      if (x.dtype !== 'float32') throw new BackendError(`cuda kernel UnsortedSegmentSum: dtype ${x.dtype} is not supported (float32 is)`);
      const numSegments = attrs.numSegments as number;
      const innerShape = x.shape.slice(segmentIds.shape.length);
      const out = backend.output([numSegments, ...innerShape], x.dtype);
      backend.fill(out, floatBits(0));
      const n = tf.util.sizeFromShape(x.shape);
      if (n === 0) return out;
      const { grid, block } = elementwiseLaunch(n);
      backend.launch(source('segment_sum_f32', 'UnsortedSegmentSum'), grid, block, [backend.ptr(out), backend.ptr(x), backend.ptr(segmentIds), n, tf.util.sizeFromShape(innerShape), numSegments]);
      return out;
    },
  },
];

export const gatherFamily: KernelFamily = { sources, kernels };
