/**
 * @module worker/comm-adapter
 * The train step's StepComm over one epoch's Collectives (src/collectives), recording how long this
 * rank waited inside collectives (the "wait" of per-rank compute/wait times).
 */
import type { Collectives } from '../collectives/collectives.js';
import type { StepComm } from '../train/comm.js';

export class CollectivesComm implements StepComm {
  waitMs = 0;

  constructor(readonly collectives: Collectives, readonly rank: number, readonly worldSize: number) {}

  async allGather(step: number, op: string, data: Float32Array): Promise<Float32Array[]> {
    const t0 = performance.now();
    try {
      return await this.collectives.allGather(step, op, data);
    } finally {
      this.waitMs += performance.now() - t0;
    }
  }

  async allReduceSum(step: number, op: string, data: Float32Array): Promise<Float32Array> {
    const t0 = performance.now();
    try {
      return await this.collectives.allReduceSum(step, op, data);
    } finally {
      this.waitMs += performance.now() - t0;
    }
  }
}
