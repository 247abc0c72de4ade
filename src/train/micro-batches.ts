/**
 * @module train/micro-batches
 * How a step's global batch becomes work for one rank: cut into micro-batches of
 * `train.micro_batch` samples (the last may be smaller) — a partition that does not depend on the
 * world size —, and rank r of W takes the r-th contiguous run of whole micro-batches. So each
 * micro-batch is computed the same way whichever rank holds it (same shapes, same padding, same
 * gradient term), which is what makes the exact gradient sum world-size invariant; and memory per
 * rank grows with the micro-batch, not with the global batch.
 */
import { contiguousSlices } from '../data/shards.js';

/** Samples per micro-batch: the configured value, or (0) enough micro-batches for `maxWorkers` ranks. */
export function microBatchSize(configured: number, globalBatch: number, maxWorkers: number): number {
  return configured > 0 ? configured : Math.max(1, Math.ceil(globalBatch / maxWorkers));
}

/** Rank `rank`'s micro-batches of the global batch `global` (sample indices in order). */
export function rankMicroBatches<T>(global: readonly T[], microBatch: number, worldSize: number, rank: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < global.length; i += microBatch) chunks.push(global.slice(i, i + microBatch));
  return contiguousSlices(chunks, worldSize)[rank]!;
}
