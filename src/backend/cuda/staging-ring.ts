/**
 * @module backend/cuda/staging-ring
 * Host → device uploads without synchronising the stream. A copy from pageable (ordinary JS)
 * memory may make the driver wait for the stream before staging it (CUDA's "API
 * synchronization behavior"), and tfjs uploads a small tensor for nearly every scalar in the
 * model, so each of those would stall the host until the GPU caught up. Instead small uploads
 * are copied into a ring of pinned host memory and queued from there (truly asynchronous); an
 * event recorded after each copy tells when its bytes may be overwritten.
 *
 * Events complete in stream order, so to reuse a region the ring waits for the newest pending
 * copy that overlaps it, and drops every older one with it; completed copies are also pruned
 * without waiting (poll) so the pending list stays short.
 */

export interface RingEvents<E> {
  /** An event recorded on the stream now (after the copy just queued). */
  record(): E;
  /** Blocks until `event` has completed. */
  wait(event: E): void;
  /** True when `event` has completed (never blocks). */
  done(event: E): boolean;
  /** Returns an event that is no longer needed. */
  release(event: E): void;
}

interface Pending<E> {
  start: number;
  end: number;
  event: E;
}

export class StagingRing<E> {
  private head = 0;
  private readonly pending: Pending<E>[] = [];
  private last: { start: number; end: number } | null = null;
  /** Copies that had to wait for an earlier one (tests and stats). */
  waits = 0;

  /**
   * `base` is the ring's host address, `bytes` a view of the same memory; `align` keeps every
   * staged copy on a boundary the DMA engine likes.
   */
  constructor(readonly base: number, private readonly bytes: Uint8Array, private readonly events: RingEvents<E>, private readonly align = 256) {}

  get size(): number {
    return this.bytes.length;
  }

  /** Copies `src` into the ring and returns the host address of the copy; call `queued` after queueing the device copy. */
  stage(src: ArrayBufferView): number {
    const n = src.byteLength;
    if (n > this.size) throw new Error(`staging ${n} bytes in a ring of ${this.size}`);
    this.prune();
    let start = this.head;
    if (start + n > this.size) start = 0;
    const end = start + n;
    let newest = -1;
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      if (p.start < end && start < p.end) newest = i;
    }
    if (newest >= 0) {
      this.events.wait(this.pending[newest]!.event);
      this.waits++;
      for (const p of this.pending.splice(0, newest + 1)) this.events.release(p.event);
    }
    this.bytes.set(new Uint8Array(src.buffer, src.byteOffset, n), start);
    this.last = { start, end };
    this.head = Math.ceil(end / this.align) * this.align;
    return this.base + start;
  }

  /** The bytes last staged are in flight until an event recorded now completes. */
  queued(): void {
    if (!this.last) throw new Error('queued() without stage()');
    this.pending.push({ ...this.last, event: this.events.record() });
    this.last = null;
  }

  /** Copies still in flight. */
  get inFlight(): number {
    return this.pending.length;
  }

  private prune(): void {
    while (this.pending.length > 0 && this.events.done(this.pending[0]!.event)) this.events.release(this.pending.shift()!.event);
  }
}
