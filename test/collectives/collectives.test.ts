import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Collectives } from '../../src/collectives/collectives.js';
import { MemoryBroker } from '../../src/transport/memory-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { connectClients, useNatsServer } from '../helpers/nats.js';
import { bits, rankInput, referenceSum } from './support/reference.js';
import { onAll, startWorld } from './support/world.js';

type Cluster = (n: number) => Promise<{ transports: Transport[]; close(): Promise<void> }>;

const ranksOf = (n: number) => Array.from({ length: n }, (_, r) => r);

/** Plain computations every collective must reproduce bit for bit, for world sizes 1–4. */
function correctness(name: string, cluster: Cluster): void {
  describe(`collectives over ${name}`, () => {
    for (const W of [1, 2, 3, 4]) {
      it(`W=${W}: all-reduce, all-gather, broadcast and barrier match plain computations on every rank`, async () => {
        const { transports, close } = await cluster(W);
        const ranks = await startWorld(transports);
        try {
          await onAll(ranks, (c) => c.barrier(0, 'hello'));
          let step = 1;
          // 1012 float32 values fit a 4 KiB chunk: these lengths cover empty segments, one short
          // chunk, and many chunks with segments that do not divide evenly.
          for (const length of [0, 1, W + 1, 1013, 25_013]) {
            const inputs = ranksOf(W).map((r) => rankInput(`sum-${length}`, r, length));
            const results = await onAll(ranks, (c, r) => c.allReduceSum(step, 'grads', inputs[r] as Float32Array));
            step++;
            const expected = bits(referenceSum(inputs));
            for (const result of results) assert.deepEqual(bits(result), expected, `length ${length}`);
          }

          const lengths = ranksOf(W).map((r) => (r === 1 ? 0 : 1500 * r + 7));
          const parts = ranksOf(W).map((r) => rankInput('gather', r, lengths[r] as number));
          const gathered = await onAll(ranks, (c, r) => c.allGather(step, 'emb', parts[r] as Float32Array));
          for (const got of gathered) assert.deepEqual(got.map(bits), parts.map(bits));

          const root = W - 1;
          const state = rankInput('state', root, 3001);
          const received = await onAll(ranks, (c, r) => c.broadcast(step, 'state', r === root ? state : null, root));
          for (const got of received) assert.deepEqual(bits(got), bits(state));

          await onAll(ranks, (c) => c.barrier(step, 'done'));
          const stats = ranks[0]!.lastStats!;
          assert.deepEqual([stats.kind, stats.step, stats.op], ['barrier', step, 'done']);
          if (W > 1) assert.ok(ranks[0]!.totals.bytesSent > 0 && ranks[0]!.totals.bytesReceived > 0);
        } finally {
          for (const c of ranks) c.close();
          await close();
        }
      });
    }
  });
}

correctness('the memory transport', async (n) => {
  const broker = new MemoryBroker();
  const transports = ranksOf(n).map((r) => broker.connect(`rank-${r}`));
  return { transports, close: async () => void (await Promise.all(transports.map((t) => t.close()))) };
});

describe('on a real nats-server', () => {
  const server = useNatsServer();
  correctness('NATS (one connection per rank)', async (n) => {
    const transports = await connectClients(server().url, n, 'coll');
    return { transports, close: async () => void (await Promise.all(transports.map((t) => t.close()))) };
  });

  it('a rank that subscribes late is covered by retransmission (the start-up race)', async () => {
    const transports = await connectClients(server().url, 3, 'late');
    const all = transports.map((t, rank) => new Collectives(t, { job: 'late', epoch: 3, rank, worldSize: 3, chunkBytes: 4096, wireDtype: 'float32', timeoutMs: 10_000, retransmitMs: 100 }));
    try {
      await Promise.all([all[0]!.start(), all[1]!.start()]);
      const inputs = ranksOf(3).map((r) => rankInput('late', r, 10_000));
      // Ranks 0 and 1 publish at once; rank 2 subscribes 400 ms later and misses all of it.
      const early = [0, 1].map((r) => all[r]!.allReduceSum(1, 'grads', inputs[r]!));
      await new Promise((resolve) => setTimeout(resolve, 400));
      await all[2]!.start();
      const results = await Promise.all([...early, all[2]!.allReduceSum(1, 'grads', inputs[2]!)]);
      const expected = bits(referenceSum(inputs));
      for (const result of results) assert.deepEqual(bits(result), expected);
      assert.ok(all[0]!.totals.retransmitFramesServed + all[1]!.totals.retransmitFramesServed > 0, 'frames were served again');
    } finally {
      for (const c of all) c.close();
      await Promise.all(transports.map((t) => t.close()));
    }
  });

  it('a nats-server restart in the middle of an all-reduce: reconnect, retransmit, exact result', async () => {
    const transports = await connectClients(server().url, 2, 'restart');
    const disconnects: number[] = [];
    transports.forEach((t, r) => t.onStatus((s) => s.type === 'disconnect' && disconnects.push(r)));
    const ranks = await startWorld(transports, { chunkBytes: 64 * 1024, timeoutMs: 20_000, retransmitMs: 100 });
    try {
      await onAll(ranks, (c) => c.barrier(0, 'ready'));
      const inputs = ranksOf(2).map((r) => rankInput('restart', r, 4 << 20));
      const calls = onAll(ranks, (c, r) => c.allReduceSum(1, 'grads', inputs[r]!));
      await server().restart();
      const results = await calls;
      const expected = bits(referenceSum(inputs));
      for (const result of results) assert.deepEqual(bits(result), expected);
      assert.deepEqual([...new Set(disconnects)].sort(), [0, 1]);
      assert.ok(ranks[0]!.totals.retransmitRequests + ranks[1]!.totals.retransmitRequests > 0);
    } finally {
      for (const c of ranks) c.close();
      await Promise.all(transports.map((t) => t.close()));
    }
  });

  it('a small flow-control window still completes a large all-reduce with 4 ranks', async () => {
    const transports = await connectClients(server().url, 4, 'flow');
    const ranks = await startWorld(transports, { chunkBytes: 16 * 1024, windowBytes: 64 * 1024 });
    try {
      const inputs = ranksOf(4).map((r) => rankInput('flow', r, 1 << 20));
      const results = await onAll(ranks, (c, r) => c.allReduceSum(1, 'grads', inputs[r]!));
      const expected = bits(referenceSum(inputs));
      for (const result of results) assert.deepEqual(bits(result), expected);
    } finally {
      for (const c of ranks) c.close();
      await Promise.all(transports.map((t) => t.close()));
    }
  });
});
