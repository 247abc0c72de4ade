/**
 * @module worker/snapshots
 * In-memory copies of this rank's training state after recent steps. The coordinator may roll
 * an epoch back to its last committed step (a peer died mid-step); every survivor then restores
 * that step's snapshot, and rank 0's copy is broadcast to the ranks of the new epoch. Steps
 * older than the last committed one are dropped (ranks are never more than a step apart).
 */
import type { TrainState } from '../train/train-state.js';

export class SnapshotRing {
  private readonly byStep = new Map<number, TrainState>();

  put(state: TrainState): void {
    this.byStep.set(state.cursor.step, state);
  }

  get(step: number): TrainState | undefined {
    return this.byStep.get(step);
  }

  /** Drops snapshots of steps before `step` (the newest committed step is always kept). */
  pruneBefore(step: number): void {
    for (const s of this.byStep.keys()) if (s < step) this.byStep.delete(s);
  }

  /** Drops snapshots of steps after `step` (work that was never committed and will be recomputed). */
  dropAbove(step: number): void {
    for (const s of this.byStep.keys()) if (s > step) this.byStep.delete(s);
  }

  steps(): number[] {
    return [...this.byStep.keys()].sort((a, b) => a - b);
  }
}
