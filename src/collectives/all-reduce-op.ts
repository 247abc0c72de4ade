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
 *
 * Memory: a contribution that arrives in turn is folded straight from the transport's receive
 * memory (a view, or one copy into a small scratch when its payload is not 4-byte aligned);
 * only contributions that arrive out of turn are copied to wait. The result is a new array, or
 * — `inPlace` — the input itself: results of other owners' segments overwrite it only after
 * this rank's contribution to that chunk was encoded (the owner needed it first), and the own
 * segment is accumulated so that `x_own` is added exactly at its turn.
 */
import { CollectiveError } from '../errors.js';
import { roundToBf16InPlace } from './bf16.js';
import { ChunkStream } from './chunk-stream.js';
import { chunkRanges, partition, type Range } from './chunking.js';
import { chunkValues, readChunkValues } from './chunk-frame.js';
import type { ChunkHeader } from '../protocol/messages.js';
import { dataFrame, expectChunk, type MissingStream, type OpEnv, type OpLogic } from './op-logic.js';
import { FAN_OUT } from './outbox.js';
import { addInto } from './vector-add.js';

/** A peer's contribution to one chunk of my segment: header and frame (borrowed, or a copy while it waits). */
interface Contribution {
  header: ChunkHeader;
  frame: Uint8Array;
}

export class AllReduceOp implements OpLogic<Float32Array> {
  readonly hearsFromAll = true;
  private readonly plans: Range[][];
  private readonly mine: Range[];
  private readonly own: Float32Array;
  private readonly out: Float32Array;
  /** Per chunk of my segment: the next rank to fold, and peers' contributions that arrived out of turn. */
  private readonly nextRank: Int32Array;
  private readonly waiting: Array<Array<Contribution | undefined>>;
  /** In place at rank > 1: Σ_{r < rank} of a chunk until this rank's own turn. */
  private readonly partial: Array<Float32Array | undefined>;
  /** Decoding space for one chunk (misaligned or bf16 payloads) and for this rank's rounded values. */
  private readonly scratch: Float32Array;
  private readonly ownScratch: Float32Array | undefined;
  private readonly contributions = new Map<number, ChunkStream>();
  private readonly results = new Map<number, ChunkStream>();
  private reduced = 0;

  constructor(
    private readonly env: OpEnv,
    data: Float32Array,
    private readonly inPlace = false,
  ) {
    this.plans = partition(data.length, env.worldSize).map((segment) => chunkRanges(segment, env.elemsPerChunk));
    this.mine = this.plans[env.rank] as Range[];
    // Read while frames are built, so it must not change during the call; bf16 frames round as they encode.
    this.own = data;
    this.out = inPlace ? data : new Float32Array(data.length);
    this.nextRank = new Int32Array(this.mine.length);
    this.waiting = this.mine.map(() => new Array<Contribution | undefined>(env.worldSize));
    this.partial = new Array<Float32Array | undefined>(this.mine.length);
    const chunk = Math.min(env.elemsPerChunk, data.length);
    this.scratch = new Float32Array(chunk);
    this.ownScratch = env.wire === 'bf16' && !inPlace ? new Float32Array(chunk) : undefined;
    for (const peer of env.peers) {
      this.contributions.set(peer, new ChunkStream(peer, this.mine.length));
      this.results.set(peer, new ChunkStream(peer, (this.plans[peer] as Range[]).length));
    }
  }

  get done(): boolean {
    if (this.reduced !== this.mine.length) return false;
    for (const s of this.results.values()) if (!s.complete) return false;
    return true;
  }

  start(): void {
    const { rank, worldSize } = this.env;
    for (let c = 0; c < this.mine.length; c++) this.fold(c);
    // Interleave destinations chunk by chunk, each rank starting with its successor, so every
    // owner gets work early and no owner is everyone's first target.
    const longest = Math.max(...this.plans.map((p) => p.length));
    for (let c = 0; c < longest; c++) {
      for (let k = 1; k < worldSize; k++) {
        const dest = (rank + k) % worldSize;
        const plan = this.plans[dest] as Range[];
        if (c < plan.length) this.env.send(dataFrame(this.env, 'reduce-scatter', dest, c, plan, this.own.length, this.own, false));
      }
    }
  }

  accept(h: ChunkHeader, frame: Uint8Array): boolean {
    const describe = () => this.env.describe();
    if (h.phase === 'reduce-scatter') {
      const stream = this.contributions.get(h.sourceRank);
      if (!stream) throw new CollectiveError('COLLECTIVE_ABORTED', `${describe()}: contribution from unexpected rank ${h.sourceRank}`);
      expectChunk(this.env, h, this.mine, this.own.length);
      if (!stream.add(h.seq, h.totalChunks, describe)) return false;
      const waiting = this.waiting[h.seq] as Array<Contribution | undefined>;
      waiting[h.sourceRank] = { header: h, frame };
      this.fold(h.seq);
      // Not its turn yet: the borrowed frame must be copied to wait.
      if (waiting[h.sourceRank]) waiting[h.sourceRank] = { header: h, frame: new Uint8Array(frame) }; // a copy (slice() of a Buffer is a view)
      return true;
    }
    const stream = h.phase === 'gather' ? this.results.get(h.sourceRank) : undefined;
    if (!stream) throw new CollectiveError('COLLECTIVE_ABORTED', `${describe()}: unexpected ${h.phase} chunk from rank ${h.sourceRank}`);
    expectChunk(this.env, h, this.plans[h.sourceRank] as Range[], this.own.length);
    if (!stream.add(h.seq, h.totalChunks, describe)) return false;
    readChunkValues(frame, h, this.out, h.elemOffset);
    return true;
  }

  missing(): MissingStream[] {
    const out: MissingStream[] = [];
    for (const s of this.contributions.values()) if (!s.complete) out.push({ source: s.source, phase: 'reduce-scatter', chunks: s.missing() });
    for (const s of this.results.values()) if (!s.complete) out.push({ source: s.source, phase: 'gather', chunks: s.missing() });
    return out;
  }

  result(): Float32Array {
    return this.out;
  }

  /** Folds chunk `c` of my segment as far as rank order allows; shares it once complete. */
  private fold(c: number): void {
    const { rank, worldSize, wire } = this.env;
    const range = this.mine[c] as Range;
    const target = this.out.subarray(range.offset, range.offset + range.count);
    const waiting = this.waiting[c] as Array<Contribution | undefined>;
    let r = this.nextRank[c] as number;
    while (r < worldSize) {
      if (r === rank) {
        this.foldOwn(c, target, range);
        r++;
        continue;
      }
      const contribution = waiting[r];
      if (!contribution) break;
      const values = chunkValues(contribution.frame, contribution.header, this.scratch);
      waiting[r] = undefined;
      if (this.inPlace && r < rank) {
        if (rank === 1) {
          // x₀ + x₁ straight into the own values (a + b = b + a exactly), no partial sum needed.
          if (wire === 'bf16') roundToBf16InPlace(target);
          addInto(target, values);
          r += 2;
          continue;
        }
        const partial = this.partial[c];
        if (r === 0) this.partial[c] = values.slice();
        else addInto(partial as Float32Array, values);
      } else if (r === 0) {
        target.set(values);
      } else {
        addInto(target, values);
      }
      r++;
    }
    this.nextRank[c] = r;
    if (r < worldSize) return;
    if (wire === 'bf16') roundToBf16InPlace(target);
    this.reduced++;
    if (worldSize > 1) this.env.send(dataFrame(this.env, 'gather', FAN_OUT, c, this.mine, this.own.length, this.out, true));
  }

  /** This rank's own turn in the fold of chunk `c` (bf16-rounded first when bf16 travels). */
  private foldOwn(c: number, target: Float32Array, range: Range): void {
    const first = this.env.rank === 0;
    if (this.inPlace) {
      // `target` is the own values: round them in place, then add what came before.
      if (this.env.wire === 'bf16') roundToBf16InPlace(target);
      const partial = this.partial[c];
      if (!first) addInto(target, partial as Float32Array);
      this.partial[c] = undefined;
      return;
    }
    let values = this.own.subarray(range.offset, range.offset + range.count);
    if (this.ownScratch) {
      const rounded = this.ownScratch.subarray(0, values.length);
      rounded.set(values);
      values = roundToBf16InPlace(rounded);
    }
    if (first) target.set(values);
    else addInto(target, values);
  }
}
