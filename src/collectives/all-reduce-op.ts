/**
 * @module collectives/all-reduce-op
 * All-reduce (sum) as reduce-scatter + all-gather through the broker. Rank j owns segment j of
 * the vector: every other rank sends it its part of that segment (point to point), j folds the
 * contributions in rank order 0, 1, …, n−1 in float32 — a fixed order, so the result does not
 * depend on arrival order — and fans each reduced chunk out as soon as it is complete
 * (pipelined), so every rank ends with the owner's bits. Per rank: (n−1)/n·S out and
 * 2(n−1)/n·S in, the ring all-reduce's volume.
 *
 * With bf16 on the wire every contribution (own included) is rounded to bf16, the float32 sum
 * is rounded to bf16 again before it is shared: result = bf16(Σ_r bf16(x_r)) on every rank.
 */
import { CollectiveError } from '../errors.js';
import { roundToBf16InPlace } from './bf16.js';
import { ChunkStream } from './chunk-stream.js';
import { chunkRanges, partition, type Range } from './chunking.js';
import { chunkValues, readChunkValues } from './chunk-frame.js';
import type { ChunkHeader } from '../protocol/messages.js';
import { dataFrame, expectChunk, type MissingStream, type OpEnv, type OpLogic } from './op-logic.js';
import { FAN_OUT } from './outbox.js';

/** A rank's part of one chunk: this rank's own values, or a peer's frame decoded when its turn comes. */
type Contribution = Float32Array | { header: ChunkHeader; frame: Uint8Array };

export class AllReduceOp implements OpLogic<Float32Array> {
  private readonly plans: Range[][];
  private readonly own: Float32Array;
  private readonly sum: Float32Array;
  /** Per chunk of my segment: the next rank to fold, and contributions that arrived out of turn (undecoded). */
  private readonly nextRank: Int32Array;
  private readonly waiting: Array<Array<Contribution | undefined>>;
  /** Decoding space for one chunk, reused (a fresh array per chunk costs page faults). */
  private readonly scratch: Float32Array;
  private readonly contributions = new Map<number, ChunkStream>();
  private readonly results = new Map<number, ChunkStream>();
  private reduced = 0;

  constructor(
    private readonly env: OpEnv,
    data: Float32Array,
  ) {
    this.plans = partition(data.length, env.worldSize).map((segment) => chunkRanges(segment, env.elemsPerChunk));
    // Read while frames are built, so it must not change during the call; bf16 frames round as they encode.
    this.own = data;
    this.sum = new Float32Array(data.length);
    const mine = this.plans[env.rank] as Range[];
    this.nextRank = new Int32Array(mine.length);
    this.waiting = mine.map(() => new Array<Contribution | undefined>(env.worldSize));
    this.scratch = new Float32Array(Math.min(env.elemsPerChunk, data.length));
    for (const peer of env.peers) {
      this.contributions.set(peer, new ChunkStream(peer, mine.length));
      this.results.set(peer, new ChunkStream(peer, (this.plans[peer] as Range[]).length));
    }
  }

  get done(): boolean {
    return this.reduced === this.nextRank.length && [...this.results.values()].every((s) => s.complete);
  }

  start(): void {
    const { rank, worldSize } = this.env;
    (this.plans[rank] as Range[]).forEach((range, c) => {
      const values = this.own.subarray(range.offset, range.offset + range.count);
      (this.waiting[c] as Array<Contribution | undefined>)[rank] = this.env.wire === 'bf16' ? roundToBf16InPlace(values.slice()) : values;
      this.fold(c);
    });
    // Interleave destinations chunk by chunk, each rank starting with its successor, so every
    // owner gets work early and no owner is everyone's first target.
    const longest = Math.max(...this.plans.map((p) => p.length));
    for (let c = 0; c < longest; c++) {
      for (let k = 1; k < worldSize; k++) {
        const dest = (rank + k) % worldSize;
        const plan = this.plans[dest] as Range[];
        if (c < plan.length) this.env.send(dataFrame(this.env, 'reduce-scatter', dest, c, plan, this.sum.length, this.own, false));
      }
    }
  }

  accept(h: ChunkHeader, frame: Uint8Array): boolean {
    const describe = () => this.env.describe();
    if (h.phase === 'reduce-scatter') {
      const stream = this.contributions.get(h.sourceRank);
      if (!stream) throw new CollectiveError('COLLECTIVE_ABORTED', `${describe()}: contribution from unexpected rank ${h.sourceRank}`);
      expectChunk(this.env, h, this.plans[this.env.rank] as Range[], this.sum.length);
      if (!stream.add(h.seq, h.totalChunks, describe)) return false;
      (this.waiting[h.seq] as Array<Contribution | undefined>)[h.sourceRank] = { header: h, frame };
      this.fold(h.seq);
      return true;
    }
    const stream = h.phase === 'gather' ? this.results.get(h.sourceRank) : undefined;
    if (!stream) throw new CollectiveError('COLLECTIVE_ABORTED', `${describe()}: unexpected ${h.phase} chunk from rank ${h.sourceRank}`);
    expectChunk(this.env, h, this.plans[h.sourceRank] as Range[], this.sum.length);
    if (!stream.add(h.seq, h.totalChunks, describe)) return false;
    readChunkValues(frame, h, this.sum, h.elemOffset);
    return true;
  }

  missing(): MissingStream[] {
    const out: MissingStream[] = [];
    for (const s of this.contributions.values()) if (!s.complete) out.push({ source: s.source, phase: 'reduce-scatter', chunks: s.missing() });
    for (const s of this.results.values()) if (!s.complete) out.push({ source: s.source, phase: 'gather', chunks: s.missing() });
    return out;
  }

  result(): Float32Array {
    return this.sum;
  }

  /** Folds chunk `c` of my segment as far as rank order allows; shares it once complete. */
  private fold(c: number): void {
    const { worldSize, wire } = this.env;
    const range = (this.plans[this.env.rank] as Range[])[c] as Range;
    const target = this.sum.subarray(range.offset, range.offset + range.count);
    const waiting = this.waiting[c] as Array<Contribution | undefined>;
    let r = this.nextRank[c] as number;
    while (r < worldSize) {
      const contribution = waiting[r];
      if (!contribution) break;
      const values = contribution instanceof Float32Array ? contribution : chunkValues(contribution.frame, contribution.header, this.scratch);
      if (r === 0) target.set(values);
      else for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) + (values[i] as number);
      waiting[r] = undefined;
      r++;
    }
    this.nextRank[c] = r;
    if (r < worldSize) return;
    if (wire === 'bf16') roundToBf16InPlace(target);
    this.reduced++;
    if (worldSize > 1) this.env.send(dataFrame(this.env, 'gather', FAN_OUT, c, this.plans[this.env.rank] as Range[], this.sum.length, this.sum, true));
  }
}
