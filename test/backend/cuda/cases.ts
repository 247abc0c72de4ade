/**
 * The kernel conformance cases of the cuda backend: for every registered tfjs kernel, calls on
 * random inputs with shapes chosen to reach each launch path — same-shape and broadcast operands
 * (rank 4, both sides broadcasting, scalars), empty tensors, rows wider than a block and narrower
 * than a warp, reductions over inner and outer axes (the transpose path), contiguous and strided
 * slices, every BatchMatMul transpose combination with batch broadcast, and one elementwise
 * launch larger than the grid cap (grid-stride loops). Each case runs on the tfjs cpu backend
 * and on the backend under test (compare.ts).
 */
import { tf } from '../../../src/backend/tf.js';
import { BINARY_OPS } from '../../../src/backend/cuda/kernels/binary.js';
import { UNARY_OPS } from '../../../src/backend/cuda/kernels/unary.js';
import { BLOCK, MAX_BLOCKS } from '../../../src/backend/cuda/shapes.js';
import { Rng } from '../../../src/util/rng.js';
import type { HostTensor } from './compare.js';

export interface Case {
  /** The tfjs kernel this case covers. */
  kernel: string;
  name: string;
  inputs: Record<string, HostTensor>;
  fn: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[];
  /** A different computation for the cpu side (where tfjs's cpu kernel lacks the case). */
  reference?: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[];
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
let seed = 0;
const rng = () => new Rng('cuda-conformance', seed++);

export function normal(shape: number[], scale = 1): HostTensor {
  return { shape, dtype: 'float32', values: rng().normalArray(size(shape), scale) };
}
export function uniform(shape: number[], lo: number, hi: number): HostTensor {
  const r = rng();
  return { shape, dtype: 'float32', values: Float32Array.from({ length: size(shape) }, () => lo + (hi - lo) * r.next()) };
}
/** Small integer-valued floats: comparisons see ties, max/argmax see repeated extremes. */
export function steps(shape: number[], levels = 5): HostTensor {
  const r = rng();
  return { shape, dtype: 'float32', values: Float32Array.from({ length: size(shape) }, () => r.int(levels) - Math.floor(levels / 2)) };
}
export function ints(shape: number[], lo: number, hi: number): HostTensor {
  const r = rng();
  return { shape, dtype: 'int32', values: Int32Array.from({ length: size(shape) }, () => lo + r.int(hi - lo)) };
}
export function bools(shape: number[]): HostTensor {
  const r = rng();
  return { shape, dtype: 'bool', values: Uint8Array.from({ length: size(shape) }, () => r.int(2)) };
}

const run = (kernel: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}) =>
  tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];

/** Shape pairs for binary ops: same, broadcast both ways at rank 4, scalar, empty. */
const BINARY_SHAPES: Array<[number[], number[]]> = [
  [[3, 4], [3, 4]],
  [[2, 3, 4, 5], [4, 1]],
  [[2, 1, 4, 1], [1, 3, 1, 5]],
  [[1, 5], [3, 1]],
  [[], [2, 3, 4, 5]],
  [[6, 7], []],
  [[0, 3], [3]],
];

function binaryInput(kernel: string, shape: number[], int: boolean): HostTensor {
  if (int) return ['LogicalAnd', 'LogicalOr'].includes(kernel) ? bools(shape) : ints(shape, -4, 5);
  if (kernel === 'Pow') return uniform(shape, 0.2, 2);
  if (['Equal', 'NotEqual', 'Less', 'LessEqual', 'Greater', 'GreaterEqual', 'Maximum', 'Minimum'].includes(kernel)) return steps(shape);
  return normal(shape);
}

function binaryCases(): Case[] {
  return BINARY_OPS.flatMap((op) => {
    const types = Object.keys(op.expr);
    return types.flatMap((t) =>
      BINARY_SHAPES.map(([sa, sb]): Case => {
        const int = t === 'i32';
        const b = binaryInput(op.kernel, sb, int);
        if (op.kernel === 'RealDiv') b.values = (b.values as Float32Array).map((v) => (Math.abs(v) < 0.1 ? 0.5 : v));
        if (op.kernel === 'Pow') b.values = steps(sb, 4).values;
        return { kernel: op.kernel, name: `${op.kernel} ${int ? (op.kernel.startsWith('Logical') ? 'bool' : 'int32') : 'float32'} [${sa}]·[${sb}]`, inputs: { a: binaryInput(op.kernel, sa, int), b }, fn: ({ a, b }) => run(op.kernel, { a: a!, b: b! }) };
      }),
    );
  });
}

function unaryInput(kernel: string, shape: number[]): HostTensor {
  if (['Log', 'Sqrt', 'Rsqrt'].includes(kernel)) return uniform(shape, 0.05, 4);
  if (kernel === 'Log1p') return uniform(shape, -0.9, 3);
  if (kernel === 'Reciprocal') return uniform(shape, 0.1, 3);
  if (kernel === 'LogicalNot') return bools(shape);
  if (kernel === 'IsNan') return { ...normal(shape), values: normal(shape).values.map((v, i) => (i % 3 === 0 ? NaN : v)) };
  return normal(shape, 2);
}

function unaryCases(): Case[] {
  return UNARY_OPS.flatMap((op) =>
    Object.keys(op.expr).flatMap((t) =>
      [[2, 3, 4, 5], [0, 2], [7]].map((shape): Case => {
        const input = t === 'i32' && op.kernel !== 'LogicalNot' ? ints(shape, -6, 7) : unaryInput(op.kernel, shape);
        return { kernel: op.kernel, name: `${op.kernel} ${input.dtype} [${shape}]`, inputs: { x: input }, fn: ({ x }) => run(op.kernel, { x: x! }) };
      }),
    ),
  );
}

function reductionCases(): Case[] {
  const out: Case[] = [];
  const layouts: Array<{ shape: number[]; axis: number[] | null; keepDims: boolean }> = [
    { shape: [2, 3, 4, 5], axis: [1, 3], keepDims: false },
    { shape: [2, 3, 4, 5], axis: [3], keepDims: true },
    { shape: [3, 300], axis: [1], keepDims: false },
    { shape: [300, 3], axis: [0], keepDims: false },
    { shape: [7], axis: null, keepDims: false },
    { shape: [4, 0], axis: [1], keepDims: false },
  ];
  for (const kernel of ['Sum', 'Mean', 'Prod', 'Max', 'Min']) {
    for (const { shape, axis, keepDims } of layouts) {
      const input = kernel === 'Prod' ? uniform(shape, 0.97, 1.03) : kernel === 'Max' || kernel === 'Min' ? steps(shape, 9) : normal(shape);
      // Reducing an empty axis is defined for Sum only (tfjs's cpu kernels give 0 or NaN for the others).
      if (shape.includes(0) && kernel !== 'Sum') continue;
      const attrs = kernel === 'Max' ? { reductionIndices: axis ?? [...shape.keys()], keepDims } : { axis: axis ?? [...shape.keys()], keepDims };
      out.push({ kernel, name: `${kernel} float32 [${shape}] axis ${axis} keepDims ${keepDims}`, inputs: { x: input }, fn: ({ x }) => run(kernel, { x: x! }, attrs) });
    }
    const intShape = [5, 40];
    const attrs = kernel === 'Max' ? { reductionIndices: [1], keepDims: false } : { axis: [1], keepDims: false };
    out.push({ kernel, name: `${kernel} int32 [${intShape}]`, inputs: { x: ints(intShape, kernel === 'Prod' ? 1 : -9, kernel === 'Prod' ? 2 : 10) }, fn: ({ x }) => run(kernel, { x: x! }, attrs) });
  }
  for (const kernel of ['ArgMax', 'ArgMin']) {
    out.push({ kernel, name: `${kernel} ties [3,40]`, inputs: { x: steps([3, 40], 4) }, fn: ({ x }) => run(kernel, { x: x! }, { axis: 1 }) });
    out.push({ kernel, name: `${kernel} [2,3,300,5] axis 2`, inputs: { x: normal([2, 3, 300, 5]) }, fn: ({ x }) => run(kernel, { x: x! }, { axis: 2 }) });
    out.push({ kernel, name: `${kernel} int32 [4,9]`, inputs: { x: ints([4, 9], -3, 4) }, fn: ({ x }) => run(kernel, { x: x! }, { axis: 1 }) });
  }
  const masked = normal([2, 3, 4, 300], 3);
  masked.values = masked.values.map((v, i) => (i % 7 === 0 ? -1e9 : v));
  out.push({ kernel: 'Softmax', name: 'Softmax [2,3,4,300] with masked logits', inputs: { logits: masked }, fn: ({ logits }) => run('Softmax', { logits: logits! }, { dim: -1 }) });
  out.push({ kernel: 'Softmax', name: 'Softmax [5,1]', inputs: { logits: normal([5, 1]) }, fn: ({ logits }) => run('Softmax', { logits: logits! }, { dim: -1 }) });
  out.push({ kernel: 'Softmax', name: 'Softmax [6,17]', inputs: { logits: normal([6, 17], 4) }, fn: ({ logits }) => run('Softmax', { logits: logits! }, { dim: 1 }) });
  return out;
}

function layoutCases(): Case[] {
  return [
    { kernel: 'Transpose', name: 'Transpose [2,3,4,5] perm 0,2,1,3', inputs: { x: normal([2, 3, 4, 5]) }, fn: ({ x }) => run('Transpose', { x: x! }, { perm: [0, 2, 1, 3] }) },
    { kernel: 'Transpose', name: 'Transpose int32 [3,1,2,4] perm 3,1,2,0', inputs: { x: ints([3, 1, 2, 4], -50, 50) }, fn: ({ x }) => run('Transpose', { x: x! }, { perm: [3, 1, 2, 0] }) },
    { kernel: 'Transpose', name: 'Transpose bool [5,6]', inputs: { x: bools([5, 6]) }, fn: ({ x }) => run('Transpose', { x: x! }, { perm: [1, 0] }) },
    { kernel: 'Slice', name: 'Slice strided [2,3,4,5]', inputs: { x: normal([2, 3, 4, 5]) }, fn: ({ x }) => run('Slice', { x: x! }, { begin: [0, 1, 0, 2], size: [2, 2, 4, 3] }) },
    { kernel: 'Slice', name: 'Slice contiguous [6,4]', inputs: { x: normal([6, 4]) }, fn: ({ x }) => run('Slice', { x: x! }, { begin: [2, 0], size: [3, -1] }) },
    { kernel: 'Slice', name: 'Slice int32 empty', inputs: { x: ints([4, 3], 0, 9) }, fn: ({ x }) => run('Slice', { x: x! }, { begin: [1, 1], size: [0, 2] }) },
    { kernel: 'SplitV', name: 'SplitV [2,6,3] sizes 1,2,3 axis 1', inputs: { x: normal([2, 6, 3]) }, fn: ({ x }) => run('SplitV', { x: x! }, { numOrSizeSplits: [1, 2, 3], axis: 1 }) },
    { kernel: 'SplitV', name: 'SplitV [4,5] in 2 on axis 0', inputs: { x: ints([4, 5], -9, 9) }, fn: ({ x }) => run('SplitV', { x: x! }, { numOrSizeSplits: 2, axis: 0 }) },
    { kernel: 'SplitV', name: 'SplitV [2,3,8] axis -1', inputs: { x: normal([2, 3, 8]) }, fn: ({ x }) => run('SplitV', { x: x! }, { numOrSizeSplits: [4, 4], axis: -1 }) },
    { kernel: 'Concat', name: 'Concat axis 1', inputs: { a: normal([2, 3, 4]), b: normal([2, 5, 4]) }, fn: ({ a, b }) => run('Concat', [a!, b!] as never, { axis: 1 }) },
    { kernel: 'Concat', name: 'Concat axis 0', inputs: { a: normal([2, 3]), b: normal([1, 3]) }, fn: ({ a, b }) => run('Concat', [a!, b!] as never, { axis: 0 }) },
    { kernel: 'Concat', name: 'Concat three on the last axis, one empty', inputs: { a: ints([2, 3, 1], 0, 9), b: ints([2, 3, 0], 0, 9), c: ints([2, 3, 4], 0, 9) }, fn: ({ a, b, c }) => run('Concat', [a!, b!, c!] as never, { axis: -1 }) },
    { kernel: 'Tile', name: 'Tile [2,1,3] by 2,3,1', inputs: { x: normal([2, 1, 3]) }, fn: ({ x }) => run('Tile', { x: x! }, { reps: [2, 3, 1] }) },
    { kernel: 'Tile', name: 'Tile int32 rank 4', inputs: { x: ints([1, 2, 1, 3], 0, 9) }, fn: ({ x }) => run('Tile', { x: x! }, { reps: [2, 1, 3, 2] }) },
    { kernel: 'PadV2', name: 'PadV2 [2,3]', inputs: { x: normal([2, 3]) }, fn: ({ x }) => run('PadV2', { x: x! }, { paddings: [[1, 2], [0, 1]], constantValue: 0.5 }) },
    { kernel: 'PadV2', name: 'PadV2 int32 rank 4', inputs: { x: ints([1, 2, 2, 3], -5, 5) }, fn: ({ x }) => run('PadV2', { x: x! }, { paddings: [[0, 1], [1, 0], [0, 0], [2, 1]], constantValue: 7 }) },
  ];
}

function gatherCases(): Case[] {
  const ids = (values: number[], shape: number[]): HostTensor => ({ shape, dtype: 'int32', values: Int32Array.from(values) });
  return [
    { kernel: 'GatherV2', name: 'GatherV2 rows [10,4] by [2,3]', inputs: { x: normal([10, 4]), indices: ids([9, 0, 3, 3, 1, 7], [2, 3]) }, fn: ({ x, indices }) => run('GatherV2', { x: x!, indices: indices! }, { axis: 0, batchDims: 0 }) },
    { kernel: 'GatherV2', name: 'GatherV2 axis 1 [2,5,3]', inputs: { x: normal([2, 5, 3]), indices: ids([4, 0, 2, 2], [4]) }, fn: ({ x, indices }) => run('GatherV2', { x: x!, indices: indices! }, { axis: 1, batchDims: 0 }) },
    { kernel: 'GatherV2', name: 'GatherV2 batchDims 1', inputs: { x: ints([2, 5, 3], -9, 9), indices: ids([0, 4, 1, 1, 3, 2, 0, 4], [2, 4]) }, fn: ({ x, indices }) => run('GatherV2', { x: x!, indices: indices! }, { axis: 1, batchDims: 1 }) },
    { kernel: 'OneHot', name: 'OneHot float32 [2,3] depth 5', inputs: { indices: ids([0, 4, 2, 2, 1, 3], [2, 3]) }, fn: ({ indices }) => run('OneHot', { indices: indices! }, { depth: 5, onValue: 1, offValue: 0, dtype: 'float32' }) },
    { kernel: 'OneHot', name: 'OneHot int32 with out-of-range ids', inputs: { indices: ids([-1, 7, 2], [3]) }, fn: ({ indices }) => run('OneHot', { indices: indices! }, { depth: 4, onValue: 3, offValue: -1, dtype: 'int32' }) },
    { kernel: 'UnsortedSegmentSum', name: 'UnsortedSegmentSum [6,4] into 4 (repeats, one empty segment)', inputs: { x: normal([6, 4]), segmentIds: ids([2, 0, 2, 3, 0, 2], [6]) }, fn: ({ x, segmentIds }) => run('UnsortedSegmentSum', { x: x!, segmentIds: segmentIds! }, { numSegments: 4 }) },
    {
      kernel: 'UnsortedSegmentSum',
      name: 'UnsortedSegmentSum rank-2 ids',
      inputs: { x: normal([2, 3, 2]), segmentIds: ids([1, 0, 1, 1, 2, 0], [2, 3]) },
      fn: ({ x, segmentIds }) => run('UnsortedSegmentSum', { x: x!, segmentIds: segmentIds! }, { numSegments: 3 }),
      // tfjs's cpu kernel fails on ids of rank > 1; the same sum with the ids flattened.
      reference: ({ x, segmentIds }) => run('UnsortedSegmentSum', { x: x!.reshape([6, 2]), segmentIds: segmentIds!.reshape([6]) }, { numSegments: 3 }),
    },
  ];
}

function valueCases(): Case[] {
  const casts: Array<[HostTensor, string]> = [
    [{ shape: [2, 4], dtype: 'float32', values: Float32Array.from([-2.7, -0.5, 0, 0.5, 1.9, 3, -3, 100.25]) }, 'int32'],
    [ints([3, 3], -9, 9), 'float32'],
    [{ shape: [5], dtype: 'float32', values: Float32Array.from([0, -0, 1.5, -2, 0.25]) }, 'bool'],
    [ints([6], -2, 3), 'bool'],
    [bools([7]), 'int32'],
    [bools([2, 2]), 'float32'],
    [normal([3]), 'float32'],
  ];
  return [
    ...casts.map(([x, dtype]): Case => ({ kernel: 'Cast', name: `Cast ${x.dtype} → ${dtype}`, inputs: { x }, fn: ({ x }) => run('Cast', { x: x! }, { dtype }) })),
    { kernel: 'Identity', name: 'Identity', inputs: { x: normal([2, 3]) }, fn: ({ x }) => run('Identity', { x: x! }) },
    { kernel: 'Reshape', name: 'Reshape with -1', inputs: { x: ints([2, 3, 4], 0, 9) }, fn: ({ x }) => run('Reshape', { x: x! }, { shape: [4, -1] }) },
    { kernel: 'Fill', name: 'Fill float32', inputs: {}, fn: () => run('Fill', {}, { shape: [2, 3], value: 2.5, dtype: 'float32' }) },
    { kernel: 'Fill', name: 'Fill int32', inputs: {}, fn: () => run('Fill', {}, { shape: [4], value: -3, dtype: 'int32' }) },
    { kernel: 'ZerosLike', name: 'ZerosLike', inputs: { x: normal([3, 2]) }, fn: ({ x }) => run('ZerosLike', { x: x! }) },
    { kernel: 'OnesLike', name: 'OnesLike int32', inputs: { x: ints([5], 0, 3) }, fn: ({ x }) => run('OnesLike', { x: x! }) },
    { kernel: 'Range', name: 'Range float32', inputs: {}, fn: () => run('Range', {}, { start: 1, stop: 4, step: 0.5, dtype: 'float32' }) },
    { kernel: 'Range', name: 'Range int32 descending', inputs: {}, fn: () => run('Range', {}, { start: 5, stop: -3, step: -2, dtype: 'int32' }) },
  ];
}

function matmulCases(): Case[] {
  const out: Case[] = [];
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    const a = ta ? [2, 3, 5, 4] : [2, 3, 4, 5];
    const b = tb ? [2, 3, 6, 5] : [2, 3, 5, 6];
    out.push({ kernel: 'BatchMatMul', name: `BatchMatMul rank 4 transposeA ${ta} transposeB ${tb}`, inputs: { a: normal(a), b: normal(b) }, fn: ({ a, b }) => run('BatchMatMul', { a: a!, b: b! }, { transposeA: ta, transposeB: tb }) });
    out.push({ kernel: 'BatchMatMul', name: `BatchMatMul [2,3,..] × 2-D weights transposeA ${ta} transposeB ${tb}`, inputs: { a: normal(a), b: normal(tb ? [6, 5] : [5, 6]) }, fn: ({ a, b }) => run('BatchMatMul', { a: a!, b: b! }, { transposeA: ta, transposeB: tb }) });
  }
  out.push({ kernel: 'BatchMatMul', name: 'BatchMatMul 2-D [33,70]·[70,65]', inputs: { a: normal([33, 70]), b: normal([70, 65]) }, fn: ({ a, b }) => run('BatchMatMul', { a: a!, b: b! }, { transposeA: false, transposeB: false }) });
  out.push({ kernel: 'BatchMatMul', name: 'BatchMatMul single-batch A against a batch of B', inputs: { a: normal([1, 4, 5]), b: normal([3, 5, 2]) }, fn: ({ a, b }) => run('BatchMatMul', { a: a!, b: b! }, { transposeA: false, transposeB: false }) });
  out.push({
    kernel: 'BatchMatMul',
    name: 'BatchMatMul batch broadcast on both sides [2,1]·[1,3]',
    inputs: { a: normal([2, 1, 4, 5]), b: normal([1, 3, 5, 2]) },
    fn: ({ a, b }) => run('BatchMatMul', { a: a!, b: b! }, { transposeA: false, transposeB: false }),
    // tfjs's cpu kernel cannot broadcast both batches; the reference tiles them first.
    reference: ({ a, b }) => tf.matMul(tf.tile(a!, [1, 3, 1, 1]), tf.tile(b!, [2, 1, 1, 1])),
  });
  out.push({ kernel: 'BatchMatMul', name: 'BatchMatMul k = 0', inputs: { a: normal([3, 0]), b: normal([0, 2]) }, fn: ({ a, b }) => run('BatchMatMul', { a: a!, b: b! }, { transposeA: false, transposeB: false }) });
  return out;
}

/** One launch past BLOCK × MAX_BLOCKS elements: the grid-stride loop must cover the rest. */
function gridStrideCase(): Case {
  const n = BLOCK * MAX_BLOCKS + 37;
  return { kernel: 'Add', name: `Add over ${n} elements (more than one grid)`, inputs: { a: uniform([n], -1, 1), b: uniform([1], 0, 1) }, fn: ({ a, b }) => run('Add', { a: a!, b: b! }) };
}

export function conformanceCases(): Case[] {
  seed = 0;
  return [...binaryCases(), ...unaryCases(), ...reductionCases(), ...layoutCases(), ...gatherCases(), ...valueCases(), ...matmulCases(), gridStrideCase()];
}
