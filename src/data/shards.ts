/**
 * @module data/shards
 * Data position that does not depend on the number of workers (DESIGN.md §3.3). Sample i lives
 * in virtual shard i mod V for good; each epoch visits every shard in its own permuted order
 * (seeded by seed, epoch, shard) up to a per-shard cursor. The global batch of a step is drawn
 * from the cursors without looking at the world size — the samples of step s and their order
 * are a function of (seed, data, step) alone — and rank r of W takes the r-th contiguous slice
 * of it. So 1, 2, 3 or 4 workers, and any history of faults and resizes, train on the same
 * batches; the cursors alone (plain JSON in a checkpoint) say which samples of the epoch are
 * used, and every sample is used exactly once per epoch. Every method is a pure function of the
 * state: all ranks compute the same batches independently.
 */
import { CheckpointError, ConfigError } from '../errors.js';
import { Rng } from '../util/rng.js';

/** The whole serialisable position (checkpointed as-is). */
export interface ShardState {
  numSamples: number;
  virtualShards: number;
  seed: number;
  epoch: number;
  /** Per shard: samples of the current epoch already handed out (in the shard's permuted order). */
  cursors: number[];
}

export interface ShardBatch {
  /** The data epoch every sample of this batch belongs to. */
  dataEpoch: number;
  /** The global batch: sample indices in order (the same for every world size). */
  global: number[];
  /** Contiguous slices of `global`, one per rank (rank r's list is perRank[r]). */
  perRank: number[][];
}

export class VirtualShards {
  private readonly state: ShardState;
  /** Per-shard permutations of the current epoch, built on first use. */
  private perms = new Map<number, number[]>();
  private permsEpoch: number;

  constructor(opts: { numSamples: number; virtualShards: number; seed: number }) {
    const { numSamples, virtualShards, seed } = opts;
    if (!Number.isInteger(numSamples) || numSamples < 1) throw new ConfigError(`the training data has ${numSamples} valid samples; it needs at least 1`);
    if (!Number.isInteger(virtualShards) || virtualShards < 1) throw new ConfigError(`data.virtual_shards must be a positive integer; got ${virtualShards}`);
    this.state = { numSamples, virtualShards, seed, epoch: 0, cursors: new Array<number>(virtualShards).fill(0) };
    this.permsEpoch = 0;
  }

  /** Restores a position saved by `toState` (e.g. from a checkpoint). @throws CheckpointError when inconsistent. */
  static fromState(state: ShardState): VirtualShards {
    const shards = new VirtualShards(state);
    const bad = (why: string): never => {
      throw new CheckpointError('CHECKPOINT_INVALID', `shard state: ${why}`);
    };
    if (!Number.isInteger(state.epoch) || state.epoch < 0) bad(`epoch must be a non-negative integer; got ${state.epoch}`);
    if (!Array.isArray(state.cursors) || state.cursors.length !== state.virtualShards) bad(`expected ${state.virtualShards} cursors; got ${JSON.stringify(state.cursors)}`);
    state.cursors.forEach((c, s) => {
      if (!Number.isInteger(c) || c < 0 || c > shards.shardSize(s)) bad(`cursor ${s} = ${c} is outside 0..${shards.shardSize(s)}`);
    });
    shards.state.epoch = state.epoch;
    shards.state.cursors = state.cursors.slice();
    shards.permsEpoch = state.epoch;
    return shards;
  }

  /** A plain-JSON copy of the position. */
  toState(): ShardState {
    return { ...this.state, cursors: this.state.cursors.slice() };
  }

  /** The current data epoch (advances on the `next` call after an epoch's last batch). */
  get dataEpoch(): number {
    return this.state.epoch;
  }

  /** Samples of the current epoch not yet handed out. */
  get remaining(): number {
    let used = 0;
    for (const c of this.state.cursors) used += c;
    return this.state.numSamples - used;
  }

  /**
   * Draws the next global batch of at most `globalBatch` samples and advances the cursors: one
   * sample at a time from the shard with the most samples left (ties → lowest shard id;
   * round-robin in effect), whatever the world size. Rank r of `worldSize` gets the r-th
   * contiguous slice, ⌈B/W⌉ or ⌊B/W⌋ samples (first ranks get the extra), where
   * B = min(globalBatch, samples left in the epoch). A batch never spans two epochs: the last
   * one may be smaller, and the call after it starts epoch + 1.
   */
  next(globalBatch: number, worldSize: number): ShardBatch {
    this.checkWorld(worldSize);
    if (!Number.isInteger(globalBatch) || globalBatch < 1) throw new ConfigError(`the global batch must be a positive integer; got ${globalBatch}`);
    if (this.remaining === 0) {
      this.state.epoch++;
      this.state.cursors.fill(0);
    }
    const total = Math.min(globalBatch, this.remaining);
    const all = Array.from({ length: this.state.virtualShards }, (_, s) => s);
    const global: number[] = [];
    while (global.length < total) global.push(this.take(this.fullest(all)));
    return { dataEpoch: this.state.epoch, global, perRank: contiguousSlices(global, worldSize) };
  }

  /** What `next` would return, without advancing. */
  peek(globalBatch: number, worldSize: number): ShardBatch {
    const copy = VirtualShards.fromState(this.toState());
    copy.perms = this.perms;
    copy.permsEpoch = this.permsEpoch;
    return copy.next(globalBatch, worldSize);
  }

  /** Number of samples in shard s: indices s, s+V, s+2V, … below numSamples. */
  shardSize(s: number): number {
    const { numSamples, virtualShards } = this.state;
    return s < numSamples ? Math.floor((numSamples - 1 - s) / virtualShards) + 1 : 0;
  }

  /** The shard among `shards` with the most samples left (ties → lowest id), or −1 when all are dry. */
  private fullest(shards: readonly number[]): number {
    let best = -1;
    let bestLeft = 0;
    for (const s of shards) {
      const left = this.shardSize(s) - this.state.cursors[s];
      if (left > bestLeft) {
        best = s;
        bestLeft = left;
      }
    }
    return best;
  }

  /** The global index at shard s's cursor; advances the cursor. */
  private take(s: number): number {
    const pos = this.state.cursors[s]++;
    return s + this.permutation(s)[pos] * this.state.virtualShards;
  }

  private permutation(s: number): number[] {
    if (this.permsEpoch !== this.state.epoch) {
      this.perms = new Map();
      this.permsEpoch = this.state.epoch;
    }
    let perm = this.perms.get(s);
    if (!perm) {
      perm = new Rng(this.state.seed, 'shard', this.state.epoch, s).shuffle(Array.from({ length: this.shardSize(s) }, (_, i) => i));
      this.perms.set(s, perm);
    }
    return perm;
  }

  private checkWorld(worldSize: number): void {
    const V = this.state.virtualShards;
    if (!Number.isInteger(worldSize) || worldSize < 1 || worldSize > V) {
      throw new ConfigError(`world size ${worldSize} must be between 1 and data.virtual_shards (${V}); raise data.virtual_shards to run more workers`);
    }
  }
}

/** `items` cut into `parts` contiguous slices, the first `length % parts` one longer. */
export function contiguousSlices<T>(items: readonly T[], parts: number): T[][] {
  const base = Math.floor(items.length / parts);
  const extra = items.length % parts;
  const out: T[][] = [];
  let start = 0;
  for (let r = 0; r < parts; r++) {
    const end = start + base + (r < extra ? 1 : 0);
    out.push(items.slice(start, end));
    start = end;
  }
  return out;
}
