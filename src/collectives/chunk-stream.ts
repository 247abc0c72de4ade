/**
 * @module collectives/chunk-stream
 * Receipt of one inbound stream of chunks (one source, one phase): which chunks arrived, whether
 * it is complete, and what to ask for again. A stream whose length is not known in advance
 * (all-gather, broadcast) learns it from the first chunk's header.
 */
import { CollectiveError } from '../errors.js';

export class ChunkStream {
  private got: Uint8Array | undefined;
  private count = 0;

  constructor(
    readonly source: number,
    private total?: number,
  ) {
    if (total !== undefined) this.got = new Uint8Array(total);
  }

  get complete(): boolean {
    return this.total !== undefined && this.count === this.total;
  }

  get received(): number {
    return this.count;
  }

  /** Marks chunk `seq` of `total` as received; false if it was a duplicate. Throws on an inconsistent header. */
  add(seq: number, total: number, describe: () => string): boolean {
    if (this.total === undefined) {
      this.total = total;
      this.got = new Uint8Array(total);
    }
    if (total !== this.total || seq >= total) {
      throw new CollectiveError('COLLECTIVE_ABORTED', `${describe()}: rank ${this.source} sent chunk ${seq} of ${total}, expected ${this.total} chunks: every rank must use the same dist.chunk_bytes and server max_payload`);
    }
    const got = this.got as Uint8Array;
    if (got[seq]) return false;
    got[seq] = 1;
    this.count++;
    return true;
  }

  /** Missing chunk indices, or null when the length is unknown (nothing arrived yet). */
  missing(): number[] | null {
    if (!this.got) return null;
    const out: number[] = [];
    this.got.forEach((v, i) => v || out.push(i));
    return out;
  }
}
