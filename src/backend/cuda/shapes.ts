/**
 * @module backend/cuda/shapes
 * The index arithmetic every cuda kernel launch shares: row-major strides, broadcast strides
 * (0 along broadcast axes, numpy-style right alignment), collapsing adjacent axes that every
 * operand walks contiguously (so most elementwise launches become rank 1 or 2), and the launch
 * shapes (1-D grids over elements, one block per row for reductions).
 */
import type { Dim3 } from './driver.js';
import { MAX_RANK } from './kernel-source.js';

/** Threads per block of elementwise kernels. */
export const BLOCK = 256;
/** Elementwise grids stop growing here; kernels loop (grid-stride) over the rest. */
export const MAX_BLOCKS = 32768;

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/** Strides into an operand of `inShape` while walking `outShape` (0 where it broadcasts). */
export function broadcastStrides(outShape: readonly number[], inShape: readonly number[]): number[] {
  const inStrides = contiguousStrides(inShape);
  const lead = outShape.length - inShape.length;
  if (lead < 0) throw new Error(`shape ${JSON.stringify(inShape)} does not broadcast to ${JSON.stringify(outShape)}`);
  return outShape.map((size, d) => {
    const j = d - lead;
    if (j < 0) return 0;
    const s = inShape[j]!;
    if (s === size) return s === 1 ? 0 : inStrides[j]!;
    if (s === 1) return 0;
    throw new Error(`shape ${JSON.stringify(inShape)} does not broadcast to ${JSON.stringify(outShape)}`);
  });
}

/**
 * Drops size-1 axes and merges axis d−1 into d wherever every operand has
 * stride[d−1] = stride[d]·shape[d] (contiguous, or broadcast along both). The result addresses
 * the same elements in the same order. Rank 0 becomes [1] with stride 0.
 */
export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const keep = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  let outShape = keep.map((d) => shape[d]!);
  let outStrides = strides.map((s) => keep.map((d) => s[d]!));
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  const mergedShape = [outShape[0]!];
  const mergedStrides = outStrides.map((s) => [s[0]!]);
  for (let d = 1; d < outShape.length; d++) {
    const last = mergedShape.length - 1;
    const size = outShape[d]!;
    if (outStrides.every((s, i) => mergedStrides[i]![last] === s[d]! * size)) {
      mergedShape[last] = mergedShape[last]! * size;
      outStrides.forEach((s, i) => (mergedStrides[i]![last] = s[d]!));
    } else {
      mergedShape.push(size);
      outStrides.forEach((s, i) => mergedStrides[i]!.push(s[d]!));
    }
  }
  outShape = mergedShape;
  outStrides = mergedStrides;
  if (outShape.length > MAX_RANK) throw new Error(`rank ${outShape.length} after collapsing exceeds the cuda kernels' ${MAX_RANK}`);
  return { shape: outShape, strides: outStrides };
}

/** A 1-D launch covering `n` elements with grid-stride loops. */
export function elementwiseLaunch(n: number): { grid: Dim3; block: Dim3 } {
  return { grid: [Math.max(1, Math.min(Math.ceil(n / BLOCK), MAX_BLOCKS)), 1, 1], block: [BLOCK, 1, 1] };
}

/** Threads of a one-block-per-row launch: a power of two in [32, 256], no wider than the row needs. */
export function rowThreads(cols: number): number {
  let t = 32;
  while (t < BLOCK && t < cols) t *= 2;
  return t;
}

/** One block per row (rows < 2^31), `rowThreads(cols)` threads each. */
export function rowLaunch(rows: number, cols: number): { grid: Dim3; block: Dim3 } {
  return { grid: [Math.max(1, rows), 1, 1], block: [rowThreads(cols), 1, 1] };
}
