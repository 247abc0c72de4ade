/**
 * @module train/comm
 * What the train step needs from the cluster: gathering per-rank arrays and summing arrays
 * across ranks, with results identical on every rank. `Collectives` (src/collectives) implements it
 * over NATS; `LocalComm` is the world of one process.
 */

export interface StepComm {
  readonly rank: number;
  readonly worldSize: number;
  /** Every rank's array, in rank order (ranks may contribute different lengths). */
  allGather(step: number, op: string, data: Float32Array): Promise<Float32Array[]>;
  /** Element-wise float32 sum over ranks, summed in rank order. */
  allReduceSum(step: number, op: string, data: Float32Array): Promise<Float32Array>;
}

/** A single-process world: gather returns the input, the sum is the input. */
export class LocalComm implements StepComm {
  readonly rank = 0;
  readonly worldSize = 1;
  async allGather(_step: number, _op: string, data: Float32Array): Promise<Float32Array[]> {
    return [data];
  }
  async allReduceSum(_step: number, _op: string, data: Float32Array): Promise<Float32Array> {
    return data;
  }
}

/** Concatenates arrays. */
export function concatArrays(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
