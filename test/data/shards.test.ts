import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckpointError, ConfigError } from '../../src/errors.js';
import { contiguousSlices, VirtualShards, type ShardState } from '../../src/data/shards.js';

/** Draws one epoch, letting `world(step)` pick W per step and round-tripping the state through JSON each step. */
function drawEpoch(state: ShardState, batch: number, world: (step: number) => number): { perStep: number[][][]; state: ShardState } {
  const perStep: number[][][] = [];
  let shards = VirtualShards.fromState(state);
  // A finished epoch's state starts the next epoch on the first call.
  const epoch = shards.remaining === 0 ? state.epoch + 1 : state.epoch;
  for (let step = 0; ; step++) {
    if (shards.remaining === 0 && step > 0) break;
    const W = world(step);
    const out = shards.next(batch, W);
    assert.equal(out.dataEpoch, epoch);
    perStep.push(out.perRank);
    shards = VirtualShards.fromState(JSON.parse(JSON.stringify(shards.toState())) as ShardState);
  }
  return { perStep, state: shards.toState() };
}

function assertExactlyOnce(perStep: number[][][], n: number): void {
  const seen = perStep.flat(2).sort((a, b) => a - b);
  assert.deepEqual(seen, Array.from({ length: n }, (_, i) => i));
}

describe('VirtualShards', () => {
  const N = 203;
  const V = 8;

  for (let W = 1; W <= 8; W++) {
    it(`hands out every sample exactly once per epoch with W = ${W}, with balanced ranks`, () => {
      const start = new VirtualShards({ numSamples: N, virtualShards: V, seed: 7 }).toState();
      const { perStep } = drawEpoch(start, 12, () => W);
      assertExactlyOnce(perStep, N);
      assert.equal(perStep.length, Math.ceil(N / 12));
      for (const perRank of perStep) {
        const B = perRank.reduce((a, r) => a + r.length, 0);
        assert.deepEqual(perRank.map((r) => r.length), Array.from({ length: W }, (_, r) => Math.floor(B / W) + (r < B % W ? 1 : 0)));
      }
    });
  }

  it('draws the same global batches for every world size; ranks take contiguous slices of them', () => {
    const start = new VirtualShards({ numSamples: N, virtualShards: V, seed: 7 }).toState();
    const reference = drawEpoch(start, 12, () => 1).perStep.map((p) => p[0]!);
    for (let W = 2; W <= 8; W++) {
      const { perStep } = drawEpoch(start, 12, () => W);
      assert.deepEqual(perStep.map((p) => p.flat()), reference, `W = ${W}`);
      for (const [k, perRank] of perStep.entries()) assert.deepEqual(perRank, contiguousSlices(reference[k]!, W));
    }
    // A world that changes every step still follows the same batches.
    const changing = drawEpoch(start, 12, (step) => 1 + (step % 5)).perStep.map((p) => p.flat());
    assert.deepEqual(changing, reference);
  });

  it('keeps exactly-once when W changes mid-epoch (4 → 3 → 5) through JSON checkpoints', () => {
    const start = new VirtualShards({ numSamples: N, virtualShards: V, seed: 11 }).toState();
    const worlds = (step: number) => (step < 5 ? 4 : step < 11 ? 3 : 5);
    const first = drawEpoch(start, 10, worlds);
    assertExactlyOnce(first.perStep, N);
    assert.deepEqual(first.perStep.slice(0, 6).map((p) => p.length), [4, 4, 4, 4, 4, 3]);
    assert.equal(first.perStep[first.perStep.length - 1].length, 5);
    // The next epoch is again complete, and in a different order.
    const second = drawEpoch(first.state, 10, worlds);
    assertExactlyOnce(second.perStep, N);
    assert.notDeepEqual(second.perStep[0], first.perStep[0]);
  });

  it('never spans epochs: the tail batch is short and the next call starts epoch + 1', () => {
    const shards = new VirtualShards({ numSamples: 10, virtualShards: 4, seed: 1 });
    const sizes: Array<[number, number]> = [];
    for (let i = 0; i < 6; i++) {
      const out = shards.next(4, 2);
      sizes.push([out.dataEpoch, out.perRank.flat().length]);
    }
    assert.deepEqual(sizes, [[0, 4], [0, 4], [0, 2], [1, 4], [1, 4], [1, 2]]);
  });

  it('is a pure function of the state: peek = next, same seed = same batches, other seed differs', () => {
    const a = new VirtualShards({ numSamples: N, virtualShards: V, seed: 3 });
    const b = new VirtualShards({ numSamples: N, virtualShards: V, seed: 3 });
    const c = new VirtualShards({ numSamples: N, virtualShards: V, seed: 4 });
    const peeked = a.peek(16, 3);
    assert.deepEqual(a.toState().cursors, new Array(V).fill(0));
    const drawn = a.next(16, 3);
    assert.deepEqual(drawn, peeked);
    assert.deepEqual(b.next(16, 3), drawn);
    assert.notDeepEqual(c.next(16, 3), drawn);
    assert.deepEqual(a.toState(), b.toState());
  });

  it('takes the global batch round-robin over the shards, fullest first', () => {
    // 9 samples over 3 shards of 3: the first 8 draws cycle 0, 1, 2, 0, 1, 2, 0, 1.
    const shards = new VirtualShards({ numSamples: 9, virtualShards: 3, seed: 5 });
    const first = shards.next(8, 2);
    assert.deepEqual(first.global.map((i) => i % 3), [0, 1, 2, 0, 1, 2, 0, 1]);
    assert.deepEqual(first.perRank, [first.global.slice(0, 4), first.global.slice(4)]);
    assertExactlyOnce([first, shards.next(8, 2)].map((b) => b.perRank), 9);
  });

  it('cuts contiguous slices, the first ranks one longer', () => {
    assert.deepEqual(contiguousSlices([1, 2, 3, 4, 5, 6, 7], 3), [[1, 2, 3], [4, 5], [6, 7]]);
    assert.deepEqual(contiguousSlices([1, 2], 4), [[1], [2], [], []]);
  });

  it('refuses W > V and inconsistent states', () => {
    const shards = new VirtualShards({ numSamples: 20, virtualShards: 4, seed: 1 });
    assert.throws(() => shards.next(4, 5), (e: unknown) => e instanceof ConfigError && /virtual_shards \(4\)/.test(e.message));
    assert.throws(() => VirtualShards.fromState({ ...shards.toState(), cursors: [0, 0, 9, 0] }), CheckpointError);
    assert.throws(() => VirtualShards.fromState({ ...shards.toState(), cursors: [0, 0] }), CheckpointError);
  });
});

describe('VirtualShards with topic groups (data.batching = by_instruction)', () => {
  const N = 211;
  const V = 4;
  // 5 topics of uneven sizes, interleaved in index order as records of several users are.
  const groupOf = Int32Array.from({ length: N }, (_, i) => (i % 7 === 0 ? 0 : i % 5 === 0 ? 1 : 2 + (i % 3)));

  function drawGrouped(state: ShardState, batch: number, world: (step: number) => number): { perStep: number[][][]; state: ShardState } {
    const perStep: number[][][] = [];
    let shards = VirtualShards.fromState(state, groupOf);
    for (let step = 0; ; step++) {
      if (shards.remaining === 0 && step > 0) break;
      perStep.push(shards.next(batch, world(step)).perRank);
      shards = VirtualShards.fromState(JSON.parse(JSON.stringify(shards.toState())) as ShardState, groupOf);
    }
    return { perStep, state: shards.toState() };
  }

  it('hands out every sample exactly once per epoch, every global batch from one topic, for W = 1..4', () => {
    const start = new VirtualShards({ numSamples: N, virtualShards: V, seed: 9, groupOf }).toState();
    assert.equal(start.groups, 5);
    assert.equal(start.cursors.length, 5 * V);
    const reference = drawGrouped(start, 16, () => 1).perStep.map((p) => p.flat());
    for (let W = 1; W <= V; W++) {
      const { perStep } = drawGrouped(start, 16, () => W);
      assertExactlyOnce(perStep, N);
      assert.deepEqual(perStep.map((p) => p.flat()), reference, `W = ${W}`);
      for (const perRank of perStep) assert.deepEqual(perRank, contiguousSlices(perRank.flat(), W));
    }
    for (const batch of reference) assert.equal(new Set(batch.map((i) => groupOf[i])).size, 1, `batch ${batch} mixes topics`);
    // Each topic's batches are full except its last of the epoch.
    const sizes = new Map<number, number[]>();
    for (const batch of reference) sizes.set(groupOf[batch[0]!]!, [...(sizes.get(groupOf[batch[0]!]!) ?? []), batch.length]);
    for (const [g, list] of sizes) {
      const members = groupOf.filter((x) => x === g).length;
      assert.deepEqual(list.slice(0, -1), new Array(list.length - 1).fill(16), `topic ${g}`);
      assert.equal(list.reduce((a, b) => a + b, 0), members);
    }
    // The topics interleave (a seeded draw weighted by what is left), not one after another.
    const order = reference.map((b) => groupOf[b[0]!]);
    assert.ok(order.slice(0, 5).some((g, i) => i > 0 && g !== order[0]), `topics in order ${order}`);
  });

  it('resumes from JSON mid-epoch with a changing world (4 → 1 → 3) to the same batches, and the next epoch is complete and reshuffled', () => {
    const start = new VirtualShards({ numSamples: N, virtualShards: V, seed: 9, groupOf }).toState();
    const steady = drawGrouped(start, 16, () => 2);
    const changing = drawGrouped(start, 16, (step) => (step < 3 ? 4 : step < 7 ? 1 : 3));
    assert.deepEqual(changing.perStep.map((p) => p.flat()), steady.perStep.map((p) => p.flat()));
    const second = drawGrouped(steady.state, 16, () => 2);
    assertExactlyOnce(second.perStep, N);
    assert.notDeepEqual(second.perStep.map((p) => p.flat()), steady.perStep.map((p) => p.flat()));
  });

  it('is a pure function of (seed, data, state): peek = next, other seeds differ', () => {
    const a = new VirtualShards({ numSamples: N, virtualShards: V, seed: 3, groupOf });
    const peeked = a.peek(16, 2);
    assert.deepEqual(a.next(16, 2), peeked);
    assert.deepEqual(new VirtualShards({ numSamples: N, virtualShards: V, seed: 3, groupOf }).next(16, 2), peeked);
    assert.notDeepEqual(new VirtualShards({ numSamples: N, virtualShards: V, seed: 4, groupOf }).next(16, 2), peeked);
  });

  it('keeps the ungrouped state and batches exactly as they were (no groups key)', () => {
    const plain = new VirtualShards({ numSamples: N, virtualShards: V, seed: 9 });
    assert.deepEqual(Object.keys(plain.toState()).sort(), ['cursors', 'epoch', 'numSamples', 'seed', 'virtualShards']);
    // The first two batches as the sampler drew them before topic groups existed (seed 9).
    assert.deepEqual(plain.next(12, 1).global, [48, 121, 206, 40, 33, 30, 127, 148, 17, 162, 79, 204]);
    assert.deepEqual(plain.next(12, 1).global, [93, 54, 59, 176, 137, 62, 15, 160, 153, 194, 203, 76]);
  });

  it('a state with every cursor at 0 is the start of its epoch under either batching (a resume on data of another size)', () => {
    const restart = { ...new VirtualShards({ numSamples: N, virtualShards: V, seed: 9 }).toState(), epoch: 3 };
    const grouped = VirtualShards.fromState(restart, groupOf);
    const expected = new VirtualShards({ numSamples: N, virtualShards: V, seed: 9, groupOf });
    const expectedState = { ...expected.toState(), epoch: 3 };
    assert.deepEqual(grouped.toState(), expectedState);
    assert.deepEqual(grouped.next(16, 1), VirtualShards.fromState(expectedState, groupOf).next(16, 1));
    const plain = VirtualShards.fromState(restart);
    assert.deepEqual(plain.toState(), { ...new VirtualShards({ numSamples: N, virtualShards: V, seed: 9 }).toState(), epoch: 3 });
  });

  it('refuses a mid-epoch grouped state without groups, an ungrouped one with them, and other group counts', () => {
    const advanced = (s: VirtualShards) => {
      s.next(16, 1);
      return s.toState();
    };
    const grouped = advanced(new VirtualShards({ numSamples: N, virtualShards: V, seed: 9, groupOf }));
    const plain = advanced(new VirtualShards({ numSamples: N, virtualShards: V, seed: 9 }));
    assert.throws(() => VirtualShards.fromState(grouped), (e: unknown) => e instanceof CheckpointError && /data.batching = by_instruction/.test(e.message));
    assert.throws(() => VirtualShards.fromState(plain, groupOf), (e: unknown) => e instanceof CheckpointError && /data.batching = mixed/.test(e.message));
    const fewer = Int32Array.from(groupOf, (g) => Math.min(g, 3));
    assert.throws(() => VirtualShards.fromState(grouped, fewer), (e: unknown) => e instanceof CheckpointError && /5 instruction groups but the data has 4/.test(e.message));
    assert.throws(() => VirtualShards.fromState({ ...grouped, cursors: grouped.cursors.slice(1) }, groupOf), CheckpointError);
  });
});
