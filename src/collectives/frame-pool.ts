/**
 * @module collectives/frame-pool
 * Reused memory for outgoing chunk frames. A fresh typed array per frame costs more than
 * copying the frame's bytes (V8 registers every backing store, zero-fills it and counts it
 * towards garbage collection: 0.39 vs 0.15 ms/MiB for 32 KiB frames, docs/collectives.md), so
 * frames of full size come from here and go back when the outbox no longer needs them.
 *
 * When may a frame's memory be rewritten? The outbox releases the frames of calls older than a
 * call that heard from every peer (`Outbox.settle`). By then every peer has started that call,
 * so it finished the older ones, so it received each frame of ours it needed — every original
 * frame is needed by some peer — either the original or a retransmitted copy published after it
 * on the same connection. Transports keep one connection's publishes in order and let go of a
 * payload once later ones are delivered (`Transport.publish`), so the transport is done with the
 * original. Retransmissions therefore publish copies, never pooled memory (`collectives.ts`).
 */

export class FramePool {
  private readonly free: ArrayBuffer[] = [];

  /** `capacity`: the largest frame; at most `limit` buffers are kept. */
  constructor(
    readonly capacity: number,
    private readonly limit: number,
  ) {}

  /** A frame of `bytes` (≤ capacity): pooled memory for large frames, a plain array for small ones. */
  acquire(bytes: number): Uint8Array {
    if (bytes > this.capacity) throw new RangeError(`frame of ${bytes} bytes exceeds the pool's ${this.capacity}`);
    if (2 * bytes < this.capacity) return new Uint8Array(bytes);
    return new Uint8Array(this.free.pop() ?? new ArrayBuffer(this.capacity), 0, bytes);
  }

  /** Takes a frame back once nothing reads it any more (small frames are left to the GC). */
  release(frame: Uint8Array): void {
    if (frame.byteOffset === 0 && frame.buffer.byteLength === this.capacity && this.free.length < this.limit && frame.buffer instanceof ArrayBuffer) this.free.push(frame.buffer);
  }

  get pooled(): number {
    return this.free.length;
  }
}
