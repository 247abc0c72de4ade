/**
 * @module train/gradient-sum
 * Step 6 of the train step: the micro-batch gradients of every rank summed into one vector, with
 * the control signals summed alongside in the same all-reduce.
 *
 * - exact (`train.exact_sum`): the ranks agree on a fixed-point scale per tensor (an all-gather
 *   of each rank's largest |value| per tensor), sum their terms exactly and all-reduce the
 *   fixed-point sums as float32 limbs (src/train/exact-sum.ts). The result does not depend on
 *   how micro-batches are spread over ranks: any world size gives the same bits.
 * - plain: the terms in micro-batch order, then a float32 all-reduce in rank order (3× fewer
 *   bytes, no extra round trip; equal across world sizes only to float rounding).
 */
import type { StepComm } from './comm.js';
import { fixedPointSum, fromLimbs, segmentMaxima, segmentScales, toLimbs, type Segment } from './exact-sum.js';

export interface SumOptions {
  comm: StepComm;
  step: number;
  exact: boolean;
  /** Scale segments of the vector (tensors, the LM loss sum). */
  segments: readonly Segment[];
  /** Micro-batches over all ranks (the exact scale leaves room for their sum). */
  globalTerms: number;
}

export async function sumGradients(terms: readonly Float32Array[], length: number, signals: Float32Array, o: SumOptions): Promise<{ values: Float32Array; signals: Float32Array }> {
  if (!o.exact) {
    const local = new Float32Array(length + signals.length);
    for (const t of terms) for (let i = 0; i < length; i++) local[i]! += t[i]!;
    local.set(signals, length);
    const summed = await o.comm.allReduceSum(o.step, 'gradients', local);
    return { values: summed.subarray(0, length), signals: summed.slice(length) };
  }
  const maxima = await o.comm.allGather(o.step, 'gradient-scale', segmentMaxima(terms, o.segments));
  const globalMax = maxima[0]!.map((_, s) => Math.max(...maxima.map((m) => m[s]!)));
  const scales = segmentScales(globalMax, o.globalTerms);
  const limbs = toLimbs(fixedPointSum(terms, o.segments, scales, length));
  const local = new Float32Array(limbs.length + signals.length);
  local.set(limbs);
  local.set(signals, limbs.length);
  const summed = await o.comm.allReduceSum(o.step, 'gradients', local);
  return { values: fromLimbs(summed.subarray(0, limbs.length), o.segments, scales), signals: summed.slice(limbs.length) };
}
