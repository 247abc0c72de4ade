/**
 * @module collectives/outbox
 * Frames this rank has sent, kept for retransmission: those of the current call and of the one
 * before. That is enough because calls are serialized and every call waits for data from every
 * peer (a broadcast root waits for acks): when this rank starts call k+1, every peer has started
 * call k, so none can still be missing call k−1.
 */

/** Where a frame went: one rank, or every peer (`-1`, a fan-out). */
export const FAN_OUT = -1;

export class Outbox {
  private readonly calls = new Map<string, Map<string, Uint8Array[]>>();

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

  /** The frames of `stream` in `key` with the given indices (all sent ones when `seqs` is null). */
  lookup(key: string, stream: string, seqs: readonly number[] | null): Uint8Array[] {
    const frames = this.calls.get(key)?.get(stream) ?? [];
    const wanted = seqs ?? frames.keys();
    const out: Uint8Array[] = [];
    for (const seq of wanted) {
      const frame = frames[seq];
      if (frame) out.push(frame);
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
