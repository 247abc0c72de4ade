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
 *
 * Topic groups (`data.batching = by_instruction`): samples may come in G groups (one per
 * instruction, the records without one forming their own), each with its own V virtual shards
 * (the k-th sample of group g, in index order, lives in shard k mod V of g). A global batch is
 * then drawn from one group only: the group is a seeded draw weighted by the samples it has left
 * this epoch (seeded by seed, epoch and the samples already used, so still a function of the
 * state), and its samples come from that group's shards as above. Every guarantee holds per
 * group; a batch never spans groups or epochs, so each group's last batch of an epoch may be
 * smaller. Without groups the state and the batches are exactly those of ungrouped shards.
 */
import { CheckpointError, ConfigError } from '../errors.js';
import { Rng } from '../util/rng.js';

/** The whole serialisable position (checkpointed as-is). */
export interface ShardState {
  numSamples: number;
  virtualShards: number;
  seed: number;
  epoch: number;
  /**
   * Samples of the current epoch already handed out per shard (in the shard's permuted order);
   * with groups, group-major: cursors[g·V + s].
   */
  cursors: number[];
  /** Number of topic groups (by_instruction batching); absent = all samples in one group. */
  groups?: number;
}

export interface ShardBatch {
  /** The data epoch every sample of this batch belongs to. */
  dataEpoch: number;
  /** The global batch: sample indices in order (the same for every world size). */
  global: number[];
  /** Contiguous slices of `global`, one per rank (rank r's list is perRank[r]). */
  perRank: number[][];
}

export interface ShardOptions {
  numSamples: number;
  virtualShards: number;
  seed: number;
  /** Topic group of every sample, dense ids 0..G−1 (src/data/topics.ts); absent = ungrouped. */
  groupOf?: ArrayLike<number>;
}

export class VirtualShards {
  private readonly state: ShardState;
  /** Global indices of each group's samples, ascending (null = ungrouped: the identity). */
  private readonly members: Int32Array[] | null;
  private readonly groupOf: ArrayLike<number> | undefined;
  /** Per-(group, shard) permutations of the current epoch, built on first use. */
  private perms = new Map<number, number[]>();
  private permsEpoch: number;

  constructor(opts: ShardOptions) {
    const { numSamples, virtualShards, seed, groupOf } = opts;
    if (!Number.isInteger(numSamples) || numSamples < 1) throw new ConfigError(`the training data has ${numSamples} valid samples; it needs at least 1`);
    if (!Number.isInteger(virtualShards) || virtualShards < 1) throw new ConfigError(`data.virtual_shards must be a positive integer; got ${virtualShards}`);
    this.groupOf = groupOf;
    this.members = groupOf ? groupMembers(groupOf, numSamples) : null;
    const groups = this.members?.length ?? 1;
    this.state = { numSamples, virtualShards, seed, epoch: 0, cursors: new Array<number>(groups * virtualShards).fill(0), ...(this.members ? { groups } : {}) };
    this.permsEpoch = 0;
  }

  /**
   * Restores a position saved by `toState` (e.g. from a checkpoint); `groupOf` as given to the
   * constructor (required exactly when the state has groups). @throws CheckpointError when inconsistent.
   */
  static fromState(state: ShardState, groupOf?: ArrayLike<number>): VirtualShards {
    const bad = (why: string): never => {
      throw new CheckpointError('CHECKPOINT_INVALID', `shard state: ${why}`);
    };
    // Every cursor at 0 = the start of `epoch`, the same position under any grouping (what a
    // resume on data whose record count changed restarts from, src/train/checkpoint.ts, which
    // does not know this run's groups).
    const epochStart = Array.isArray(state.cursors) && state.cursors.length === (state.groups ?? 1) * state.virtualShards && state.cursors.every((c) => c === 0);
    if (epochStart && Number.isInteger(state.epoch) && state.epoch >= 0) {
      const fresh = new VirtualShards({ numSamples: state.numSamples, virtualShards: state.virtualShards, seed: state.seed, groupOf });
      fresh.state.epoch = state.epoch;
      fresh.permsEpoch = state.epoch;
      return fresh;
    }
    if ((state.groups !== undefined) !== (groupOf !== undefined)) {
      bad(state.groups !== undefined
        ? `it groups samples by instruction (${state.groups} groups) but this run batches them mixed; set data.batching = by_instruction to resume it`
        : 'it batches samples mixed but this run groups them by instruction; set data.batching = mixed to resume it');
    }
    const shards = new VirtualShards({ numSamples: state.numSamples, virtualShards: state.virtualShards, seed: state.seed, groupOf });
    const groups = shards.groupCount;
    if (state.groups !== undefined && state.groups !== groups) bad(`it has ${state.groups} instruction groups but the data has ${groups}`);
    if (!Number.isInteger(state.epoch) || state.epoch < 0) bad(`epoch must be a non-negative integer; got ${state.epoch}`);
    if (!Array.isArray(state.cursors) || state.cursors.length !== groups * state.virtualShards) bad(`expected ${groups * state.virtualShards} cursors; got ${JSON.stringify(state.cursors)}`);
    state.cursors.forEach((c, k) => {
      const size = shards.shardSize(k % state.virtualShards, Math.floor(k / state.virtualShards));
      if (!Number.isInteger(c) || c < 0 || c > size) bad(`cursor ${k} = ${c} is outside 0..${size}`);
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

  /** Topic groups (1 when ungrouped). */
  get groupCount(): number {
    return this.members?.length ?? 1;
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
   * round-robin in effect), whatever the world size — with groups, from the shards of the one
   * group drawn for this batch. Rank r of `worldSize` gets the r-th contiguous slice, ⌈B/W⌉ or
   * ⌊B/W⌋ samples (first ranks get the extra), where B = min(globalBatch, samples left in the
   * epoch, or in the group). A batch never spans two epochs: the last one may be smaller, and
   * the call after it starts epoch + 1.
   */
  next(globalBatch: number, worldSize: number): ShardBatch {
    this.checkWorld(worldSize);
    if (!Number.isInteger(globalBatch) || globalBatch < 1) throw new ConfigError(`the global batch must be a positive integer; got ${globalBatch}`);
    if (this.remaining === 0) {
      this.state.epoch++;
      this.state.cursors.fill(0);
    }
    const group = this.members ? this.drawGroup() : 0;
    const total = Math.min(globalBatch, this.groupLeft(group));
    const shards = Array.from({ length: this.state.virtualShards }, (_, s) => s);
    const global: number[] = [];
    while (global.length < total) global.push(this.take(group, this.fullest(group, shards)));
    return { dataEpoch: this.state.epoch, global, perRank: contiguousSlices(global, worldSize) };
  }

  /** What `next` would return, without advancing. */
  peek(globalBatch: number, worldSize: number): ShardBatch {
    const copy = VirtualShards.fromState(this.toState(), this.groupOf);
    copy.perms = this.perms;
    copy.permsEpoch = this.permsEpoch;
    return copy.next(globalBatch, worldSize);
  }

  /** Number of samples in shard s of group g: its members k with k mod V = s. */
  shardSize(s: number, g = 0): number {
    const n = this.members ? this.members[g]!.length : this.state.numSamples;
    const V = this.state.virtualShards;
    return s < n ? Math.floor((n - 1 - s) / V) + 1 : 0;
  }

  /** Samples group g has left this epoch. */
  private groupLeft(g: number): number {
    const V = this.state.virtualShards;
    let left = 0;
    for (let s = 0; s < V; s++) left += this.shardSize(s, g) - this.state.cursors[g * V + s]!;
    return left;
  }

  /** The group of the next batch: weighted by samples left, seeded by (seed, epoch, samples used). */
  private drawGroup(): number {
    const used = this.state.numSamples - this.remaining;
    let u = new Rng(this.state.seed, 'group', this.state.epoch, used).next() * this.remaining;
    for (let g = 0; g < this.groupCount; g++) {
      const left = this.groupLeft(g);
      if (left > 0 && u < left) return g;
      u -= left;
    }
    // Rounding can leave u at the very end: the last group with samples left.
    for (let g = this.groupCount - 1; g >= 0; g--) if (this.groupLeft(g) > 0) return g;
    throw new Error('no samples left in any group');
  }

  /** The shard of group g among `shards` with the most samples left (ties → lowest id), or −1 when all are dry. */
  private fullest(g: number, shards: readonly number[]): number {
    const V = this.state.virtualShards;
    let best = -1;
    let bestLeft = 0;
    for (const s of shards) {
      const left = this.shardSize(s, g) - this.state.cursors[g * V + s]!;
      if (left > bestLeft) {
        best = s;
        bestLeft = left;
      }
    }
    return best;
  }

  /** The global index at the cursor of shard s of group g; advances the cursor. */
  private take(g: number, s: number): number {
    const V = this.state.virtualShards;
    const pos = this.state.cursors[g * V + s]++;
    const k = s + this.permutation(g, s)[pos]! * V;
    return this.members ? this.members[g]![k]! : k;
  }

  private permutation(g: number, s: number): number[] {
    if (this.permsEpoch !== this.state.epoch) {
      this.perms = new Map();
      this.permsEpoch = this.state.epoch;
    }
    const key = g * this.state.virtualShards + s;
    let perm = this.perms.get(key);
    if (!perm) {
      // Ungrouped shards keep their historical seeds (the same batches as before groups existed).
      const rng = this.members ? new Rng(this.state.seed, 'shard', this.state.epoch, 'group', g, s) : new Rng(this.state.seed, 'shard', this.state.epoch, s);
      perm = rng.shuffle(Array.from({ length: this.shardSize(s, g) }, (_, i) => i));
      this.perms.set(key, perm);
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

/** Members of each group (ascending global indices) from dense group ids 0..G−1. */
function groupMembers(groupOf: ArrayLike<number>, numSamples: number): Int32Array[] {
  if (groupOf.length !== numSamples) throw new ConfigError(`the topic groups cover ${groupOf.length} samples but the data has ${numSamples}`);
  let groups = 0;
  for (let i = 0; i < numSamples; i++) {
    const g = groupOf[i]!;
    if (!Number.isInteger(g) || g < 0) throw new Error(`group id ${g} of sample ${i} is not a non-negative integer`);
    groups = Math.max(groups, g + 1);
  }
  const counts = new Int32Array(groups);
  for (let i = 0; i < numSamples; i++) counts[groupOf[i]!]++;
  const members = Array.from(counts, (n) => new Int32Array(n));
  const fill = new Int32Array(groups);
  for (let i = 0; i < numSamples; i++) {
    const g = groupOf[i]!;
    members[g]![fill[g]!++] = i;
  }
  return members;
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
