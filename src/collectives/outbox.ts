/**
 * @module collectives/outbox
 * Frames this rank has sent, kept for retransmission: those of the current call and of the one
 * before. That is enough because calls are serialized and every call waits for data from every
 * peer (a broadcast root waits for acks): when this rank starts call k+1, every peer has started
 * call k, so none can still be missing call k−1. (A broadcast at a *non-root* rank waits only
 * for the root, so a receiver that lost a frame of the call before it may ask too late and time
 * out — a fault that is reported, never wrong data.)
 *
 * Frame memory goes back to the frame pool only through `settle(key)`: call `key` heard from
 * every peer (all-reduce, all-gather, barrier; a broadcast at its root), which proves that every
 * peer finished every call before it (see `frame-pool.ts` for why that makes reuse safe).
 * Frames dropped by `begin` without such proof are left to the garbage collector.
 */
import type { FramePool } from './frame-pool.js';

/** Where a frame went: one rank, or every peer (`-1`, a fan-out). */
export const FAN_OUT = -1;

export class Outbox {
  private readonly calls = new Map<string, Map<string, Uint8Array[]>>();
  private pool: FramePool | undefined;

  /** Where released frames go (set once the frame size is known). */
  usePool(pool: FramePool): void {
    this.pool = pool;
  }

  /** Starts keeping frames for `key`, dropping all calls but the previous one. */
  begin(key: string): void {
    const keys = [...this.calls.keys()];
    for (const old of keys.slice(0, Math.max(0, keys.length - 1))) this.calls.delete(old);
    this.calls.set(key, new Map());
  }

  record(key: string, stream: string, seq: number, frame: Uint8Array): void {
    const streams = this.calls.get(key);
    if (!streams) return;
    const frames = streams.get(stream) ?? [];
    frames[seq] = frame;
    streams.set(stream, frames);
  }

  /** Call `key` heard from every peer: no peer needs frames of earlier calls any more. */
  settle(key: string): void {
    if (!this.calls.has(key)) return;
    for (const [old, streams] of this.calls) {
      if (old === key) break;
      this.calls.delete(old);
      for (const frames of streams.values()) for (const frame of frames) if (frame) this.pool?.release(frame);
    }
  }

  /** The frames of `stream` in `key` with the given indices (all sent ones when `seqs` is null). */
  lookup(key: string, stream: string, seqs: readonly number[] | null): Uint8Array[] {
    return this.lookupSeqs(key, stream, seqs).map((e) => e.frame);
  }

  /** Like `lookup`, with each frame's seq (it picks the stripe a retransmission goes on). */
  lookupSeqs(key: string, stream: string, seqs: readonly number[] | null): Array<{ seq: number; frame: Uint8Array }> {
    const frames = this.calls.get(key)?.get(stream) ?? [];
    const wanted = seqs ?? frames.keys();
    const out: Array<{ seq: number; frame: Uint8Array }> = [];
    for (const seq of wanted) {
      const frame = frames[seq];
      if (frame) out.push({ seq, frame });
    }
    return out;
  }

  clear(): void {
    this.calls.clear();
  }
}

/** Outbox stream name: phase and destination (`FAN_OUT` for fan-out frames). */
export function streamName(phase: string, dest: number): string {
  return `${phase}:${dest}`;
}
