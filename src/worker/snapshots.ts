/**
 * @module worker/snapshots
 * In-memory copies of this rank's training state after recent steps. The coordinator may roll
 * an epoch back to its last committed step (a peer died mid-step); every survivor then restores
 * that step's snapshot, and rank 0's copy is broadcast to the ranks of the new epoch. Steps
 * older than the last committed one are dropped (ranks are never more than a step apart).
 */
import type { TrainCursor } from '../protocol/messages.js';

export interface Snapshot {
  cursor: TrainCursor;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

export class SnapshotRing {
  private readonly byStep = new Map<number, Snapshot>();

  put(snapshot: Snapshot): void {
    this.byStep.set(snapshot.cursor.step, snapshot);
  }

  get(step: number): Snapshot | undefined {
    return this.byStep.get(step);
  }

  /** Drops snapshots of steps before `step` (the newest committed step is always kept). */
  pruneBefore(step: number): void {
    for (const s of this.byStep.keys()) if (s < step) this.byStep.delete(s);
  }

  steps(): number[] {
    return [...this.byStep.keys()].sort((a, b) => a - b);
  }
}

/** params ‖ m ‖ v: the float payload of the epoch-start broadcast. */
export function packState(s: Snapshot): Float32Array {
  const n = s.params.length;
  const out = new Float32Array(3 * n);
  out.set(s.params, 0);
  out.set(s.m, n);
  out.set(s.v, 2 * n);
  return out;
}

export function unpackState(flat: Float32Array, cursor: TrainCursor): Snapshot {
  const n = flat.length / 3;
  return { cursor, params: flat.slice(0, n), m: flat.slice(n, 2 * n), v: flat.slice(2 * n) };
}
