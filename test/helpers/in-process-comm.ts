/**
 * Test helper: a StepComm group for N ranks living in one process (each rank's call waits for
 * the others), used to check the step's exactness without processes. The real cluster path is
 * exercised by test/e2e over NATS.
 */
import type { StepComm } from '../../src/train/comm.js';

export function inProcessGroup(worldSize: number): StepComm[] {
  const pending = new Map<string, { parts: (Float32Array | undefined)[]; waiters: ((parts: Float32Array[]) => void)[] }>();
  const exchange = (key: string, rank: number, data: Float32Array): Promise<Float32Array[]> =>
    new Promise((resolve) => {
      let slot = pending.get(key);
      if (!slot) pending.set(key, (slot = { parts: Array.from({ length: worldSize }, () => undefined), waiters: [] }));
      slot.parts[rank] = data.slice();
      slot.waiters.push(resolve);
      if (slot.parts.every((p) => p !== undefined)) {
        pending.delete(key);
        for (const w of slot.waiters) w(slot.parts as Float32Array[]);
      }
    });
  return Array.from({ length: worldSize }, (_, rank) => ({
    rank,
    worldSize,
    allGather: (step, op, data) => exchange(`${step}/${op}/g`, rank, data),
    async allReduceSum(step, op, data) {
      const parts = await exchange(`${step}/${op}/r`, rank, data);
      const out = new Float32Array(data.length);
      for (const p of parts) for (let i = 0; i < out.length; i++) out[i] = out[i]! + p[i]!;
      return out;
    },
  }));
}
