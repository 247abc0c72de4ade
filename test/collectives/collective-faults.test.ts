import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CollectiveError } from '../../src/errors.js';
import { encodeChunk, hash32 } from '../../src/collectives/chunk-frame.js';
import { CollectiveTimeoutError, type Collectives } from '../../src/collectives/collectives.js';
import { MemoryBroker } from '../../src/transport/memory-transport.js';
import type { ChunkHeader } from '../../src/protocol/messages.js';
import { Rng } from '../../src/util/rng.js';
import { FaultTransport } from './support/fault-transport.js';
import { bits, rankInput, referenceSum } from './support/reference.js';
import { onAll, startWorld, type WorldOptions } from './support/world.js';

const ranksOf = (n: number) => Array.from({ length: n }, (_, r) => r);

async function memoryWorld(n: number, options: Partial<WorldOptions> = {}) {
  const broker = new MemoryBroker();
  const faults = ranksOf(n).map((r) => new FaultTransport(broker.connect(`rank-${r}`)));
  const ranks = await startWorld(faults, { retransmitMs: 50, ...options });
  return { broker, faults, ranks, close: () => ranks.forEach((c) => c.close()) };
}

const isCode = (code: CollectiveError['code'], pattern: RegExp) => (err: unknown) => err instanceof CollectiveError && err.code === code && pattern.test(err.message);

describe('collectives under faults', () => {
  it('chunks dropped once are asked for again and the sum is still exact', async () => {
    const { faults, ranks, close } = await memoryWorld(3);
    // Rank 1 loses its 3rd contribution to rank 0; rank 2 loses the 2nd chunk of its reduced segment.
    faults[1]!.drop((subject, h) => h?.phase === 'reduce-scatter' && h.seq === 2 && subject.endsWith('.to.0'));
    faults[2]!.drop((_, h) => h?.phase === 'gather' && h.seq === 1);
    try {
      const inputs = ranksOf(3).map((r) => rankInput('drop', r, 20_000));
      const results = await onAll(ranks, (c, r) => c.allReduceSum(1, 'grads', inputs[r]!));
      const expected = bits(referenceSum(inputs));
      for (const result of results) assert.deepEqual(bits(result), expected);
      assert.deepEqual([faults[1]!.dropped.length, faults[2]!.dropped.length], [1, 1]);
      assert.ok(ranks[1]!.totals.retransmitFramesServed >= 1 && ranks[2]!.totals.retransmitFramesServed >= 1);
      assert.ok(ranks[0]!.totals.retransmitRequests >= 1);
    } finally {
      close();
    }
  });

  it('the result does not depend on arrival order (chunks delayed at random)', async () => {
    const { faults, ranks, close } = await memoryWorld(4, { chunkBytes: 1024 });
    const rng = new Rng('reorder');
    for (const f of faults) f.delay((_, h) => h !== undefined, () => rng.int(25));
    try {
      const inputs = ranksOf(4).map((r) => rankInput('order', r, 5000));
      const results = await onAll(ranks, (c, r) => c.allReduceSum(1, 'grads', inputs[r]!));
      const expected = bits(referenceSum(inputs));
      for (const result of results) assert.deepEqual(bits(result), expected);
    } finally {
      close();
    }
  });

  it('a rank that never answers makes the others reject with COLLECTIVE_TIMEOUT naming it, within the deadline', async () => {
    const timeoutMs = 1200;
    const { ranks, close } = await memoryWorld(3, { timeoutMs });
    try {
      const started = Date.now();
      const outcomes = await Promise.allSettled([0, 1].map((r) => ranks[r]!.allReduceSum(1, 'grads', rankInput('silent', r, 3000))));
      const elapsed = Date.now() - started;
      for (const outcome of outcomes) {
        assert.equal(outcome.status, 'rejected');
        const err = (outcome as PromiseRejectedResult).reason;
        // Each rank either hits its own deadline or hears that the other one did.
        if (err instanceof CollectiveTimeoutError) {
          assert.deepEqual(err.silentRanks, [2]);
          assert.match(err.message, /timed out after 1200 ms; nothing at all from ranks \[2\]; missing: .*reduce-scatter chunks \[[0-9,]+\] from rank 2/);
        } else {
          assert.ok(isCode('COLLECTIVE_ABORTED', /COLLECTIVE_TIMEOUT/)(err), String(err));
        }
      }
      assert.ok(outcomes.some((o) => (o as PromiseRejectedResult).reason instanceof CollectiveTimeoutError));
      assert.ok(elapsed >= timeoutMs - 20 && elapsed < timeoutMs + 500, `rejected after ${elapsed} ms`);
      assert.ok(ranks[0]!.totals.timeouts + ranks[0]!.totals.aborts === 1);
    } finally {
      close();
    }
  });

  it('inputs of different lengths abort the call on every rank with a message saying why', async () => {
    const { ranks, close } = await memoryWorld(2);
    try {
      const outcomes = await Promise.allSettled([ranks[0]!.allReduceSum(1, 'grads', new Float32Array(100)), ranks[1]!.allReduceSum(1, 'grads', new Float32Array(101))]);
      for (const outcome of outcomes) {
        assert.ok(outcome.status === 'rejected' && isCode('COLLECTIVE_ABORTED', /same length on every rank/)(outcome.reason), String((outcome as PromiseRejectedResult).reason));
      }
    } finally {
      close();
    }
  });

  it('abort() rejects the pending call at once, and every later call', async () => {
    const { ranks, close } = await memoryWorld(2);
    try {
      const pending = ranks[0]!.allReduceSum(1, 'grads', new Float32Array(10));
      const started = Date.now();
      setTimeout(() => ranks[0]!.abort('epoch 2 announced', 'MEMBERSHIP_CHANGED'), 20);
      await assert.rejects(pending, isCode('MEMBERSHIP_CHANGED', /epoch 2 announced/));
      assert.ok(Date.now() - started < 1000);
      await assert.rejects(ranks[0]!.barrier(2, 'after'), isCode('MEMBERSHIP_CHANGED', /aborted/));
    } finally {
      close();
    }
  });

  it('chunks of another epoch or job, from a sender that is not the rank they claim, and late duplicates, are dropped and counted, never summed', async () => {
    const { broker, ranks, close } = await memoryWorld(2);
    const intruder = broker.connect('intruder');
    // A rank-1 contribution to rank 0's segment of a 50-element all-reduce, full of garbage.
    const forged = (over: Partial<ChunkHeader>) =>
      encodeChunk({ phase: 'reduce-scatter', dtype: 'float32', jobHash: hash32('test'), epoch: 1, step: 5, opHash: hash32('grads'), seq: 0, totalChunks: 1, sourceRank: 1, elemOffset: 0, elemCount: 25, totalElems: 50, ...over }, new Float32Array(25).fill(1e30), 0);
    try {
      intruder.publish('test.p.r1.e1.c.grads.to.0', forged({ epoch: 0 }));
      intruder.publish('test.p.r1.e1.c.grads.to.0', forged({ jobHash: hash32('other-job') }));
      // Rank 1's contribution, sent under another sender's id (the first copy would win if taken).
      intruder.publish('test.p.r0.e1.c.grads.to.0', forged({}));
      intruder.publish('test.p.mallory.e1.c.grads.to.0', forged({}));
      await intruder.flush();
      const inputs = ranksOf(2).map((r) => rankInput('stale', r, 50));
      const results = await onAll(ranks, (c: Collectives, r) => c.allReduceSum(5, 'grads', inputs[r]!));
      const expected = bits(referenceSum(inputs));
      for (const result of results) assert.deepEqual(bits(result), expected);
      intruder.publish('test.p.r1.e1.c.grads.to.0', forged({}));
      await intruder.flush();
      await intruder.flush();
      const { droppedOtherEpoch, droppedOtherJob, droppedStale, droppedForeignSender } = ranks[0]!.totals;
      assert.deepEqual({ droppedOtherEpoch, droppedOtherJob, droppedStale, droppedForeignSender }, { droppedOtherEpoch: 1, droppedOtherJob: 1, droppedStale: 1, droppedForeignSender: 2 });
    } finally {
      close();
      await intruder.close();
    }
  });

  it('bf16 on the wire gives bf16(sum of bf16 inputs) on every rank, within bf16 precision of the exact sum', async () => {
    const { ranks, close } = await memoryWorld(3, { wireDtype: 'bf16' });
    try {
      const inputs = ranksOf(3).map((r) => rankInput('bf16', r, 4000));
      const results = await onAll(ranks, (c, r) => c.allReduceSum(1, 'grads', inputs[r]!));
      const expected = referenceSum(inputs, 'bf16');
      for (const result of results) assert.deepEqual(bits(result), bits(expected));
      const exact = referenceSum(inputs);
      assert.notDeepEqual(bits(expected), bits(exact)); // rounding did happen
      const scale = Math.max(...exact.map(Math.abs));
      exact.forEach((x, i) => assert.ok(Math.abs((expected[i] as number) - x) <= 4 * 2 ** -8 * scale, `element ${i}`));
      assert.equal(ranks[0]!.lastStats!.wireDtype, 'bf16');
      // Half the bytes of float32 on the wire, plus headers.
      assert.ok(ranks[0]!.lastStats!.bytesSent < 0.6 * 4000 * 4);
    } finally {
      close();
    }
  });

  it('refuses misuse with clear errors: bad op names, steps going back, reused op names, a root without data', async () => {
    const { ranks, close } = await memoryWorld(1);
    try {
      await assert.rejects(ranks[0]!.barrier(1, 'a.b'), /op name "a.b"/);
      await ranks[0]!.barrier(3, 'x');
      await assert.rejects(ranks[0]!.barrier(2, 'y'), /steps never go back/);
      await assert.rejects(ranks[0]!.barrier(3, 'x'), /already used at step 3/);
      await assert.rejects(ranks[0]!.broadcast(3, 'state', null, 0), /root \(rank 0\) must pass the data/);
      await assert.rejects(ranks[0]!.broadcast(3, 'other', null, 1), /root 1 is not a rank of 1/);
      assert.deepEqual(Array.from(await ranks[0]!.allReduceSum(4, 'alone', Float32Array.of(1.5, -0))), [1.5, -0]);
    } finally {
      close();
    }
  });
});
