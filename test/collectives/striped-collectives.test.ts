/**
 * The collectives' fast path: in-place all-reduce, frames striped over a rank's own data
 * connections (`connections: K`; on NATS those are `NatsWireTransport`s lending received
 * frames without copies), and frame memory reused across calls — with the same exactness and
 * fault handling as the plain path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Collectives } from '../../src/collectives/collectives.js';
import { MemoryBroker } from '../../src/transport/memory-transport.js';
import type { Transport } from '../../src/transport/transport.js';
import { Rng } from '../../src/util/rng.js';
import { startNatsCluster } from '../../src/transport/nats-server.js';
import { NatsTransport } from '../../src/transport/nats-transport.js';
import { connectClients, useNatsServer } from '../helpers/nats.js';
import { FaultTransport } from './support/fault-transport.js';
import { bits, rankInput, referenceSum } from './support/reference.js';
import { onAll, startWorld, type WorldOptions } from './support/world.js';

const ranksOf = (n: number) => Array.from({ length: n }, (_, r) => r);

/** Every collective on every rank against the plain computation; all-reduces in place and not, both wire dtypes. */
async function checkAll(ranks: Collectives[], seed: string): Promise<void> {
  const W = ranks.length;
  let step = 1;
  await onAll(ranks, (c) => c.barrier(0, 'hello'));
  for (const wireDtype of ['float32', 'bf16'] as const) {
    for (const length of [0, 1, W + 1, 1013, 25_013]) {
      for (const inPlace of [false, true]) {
        const inputs = ranksOf(W).map((r) => rankInput(`${seed}-${length}`, r, length));
        const given = inputs.map((x) => x.slice());
        const results = await onAll(ranks, (c, r) => c.allReduceSum(step, 'grads', given[r]!, { wireDtype, inPlace }));
        step++;
        const expected = bits(referenceSum(inputs, wireDtype));
        results.forEach((result, r) => {
          assert.deepEqual(bits(result), expected, `${wireDtype} length ${length} inPlace ${inPlace} rank ${r}`);
          if (inPlace) assert.equal(result, given[r], 'in place returns the input array');
          else assert.deepEqual(bits(given[r]!), bits(inputs[r]!), 'the input is left alone');
        });
      }
    }
  }
  const parts = ranksOf(W).map((r) => rankInput(`${seed}-gather`, r, r === 1 ? 0 : 1500 * r + 7));
  const gathered = await onAll(ranks, (c, r) => c.allGather(step, 'emb', parts[r]!));
  for (const got of gathered) assert.deepEqual(got.map(bits), parts.map(bits));
  const state = rankInput(`${seed}-state`, W - 1, 3001);
  const received = await onAll(ranks, (c, r) => c.broadcast(step, 'state', r === W - 1 ? state : null, W - 1));
  for (const got of received) assert.deepEqual(bits(got), bits(state));
}

describe('striped collectives over the memory transport', () => {
  for (const W of [1, 2, 3, 4]) {
    for (const connections of [1, 3]) {
      it(`W=${W}, ${connections} data connection(s) per rank: every collective exact, in place or not`, async () => {
        const broker = new MemoryBroker();
        const transports = ranksOf(W).map((r) => broker.connect(`rank-${r}`));
        const ranks = await startWorld(transports, { connections });
        try {
          await checkAll(ranks, `mem-${W}-${connections}`);
        } finally {
          await Promise.all(ranks.map((c) => c.close()));
          await Promise.all(transports.map((t) => t.close()));
        }
      });
    }
  }

  it('drops and random delays on every stripe over 30 calls: retransmitted, reused frame memory, always exact', async () => {
    const broker = new MemoryBroker();
    const faults = ranksOf(3).map((r) => new FaultTransport(broker.connect(`rank-${r}`)));
    const rng = new Rng('stripes-faults');
    for (const f of faults) {
      f.delay((_, h) => h !== undefined && rng.next() < 0.3, () => rng.int(15));
      f.drop((_, h) => h?.phase === 'reduce-scatter' && h.seq % 5 === 3, 6);
      f.drop((_, h) => h?.phase === 'gather' && h.seq % 7 === 2, 4);
    }
    const ranks = await startWorld(faults, { connections: 2, chunkBytes: 2048, retransmitMs: 40 });
    try {
      for (let step = 1; step <= 30; step++) {
        const inputs = ranksOf(3).map((r) => rankInput(`faults-${step}`, r, 3000 + 17 * step));
        const inPlace = step % 2 === 0;
        const results = await onAll(ranks, (c, r) => c.allReduceSum(step, 'grads', inPlace ? inputs[r]!.slice() : inputs[r]!, { inPlace }));
        const expected = bits(referenceSum(inputs));
        for (const result of results) assert.deepEqual(bits(result), expected, `step ${step}`);
      }
      assert.ok(faults.reduce((n, f) => n + f.dropped.length, 0) > 10, 'frames were dropped');
      assert.ok(ranks.reduce((n, c) => n + c.totals.retransmitFramesServed, 0) > 0, 'frames were served again');
    } finally {
      await Promise.all(ranks.map((c) => c.close()));
    }
  });
});

describe('striped collectives on a 3-server NATS cluster', () => {
  it('3 stripes per rank: every frame is forwarded by the server it arrived at, not across a route', async () => {
    const cluster = await startNatsCluster({ size: 3 });
    const transports = await Promise.all(ranksOf(2).map((r) => NatsTransport.connect(cluster.url, { name: `local-${r}` })));
    const ranks = await startWorld(transports, { connections: 3, chunkBytes: 64 * 1024 });
    try {
      await onAll(ranks, (c) => c.barrier(0, 'ready'));
      const inputs = ranksOf(2).map((r) => rankInput('local', r, 2 << 20));
      const results = await onAll(ranks, (c, r) => c.allReduceSum(1, 'grads', inputs[r]!));
      for (const result of results) assert.deepEqual(bits(result), bits(referenceSum(inputs)));
      const routeBytes = (await Promise.all(cluster.servers.map(async (s) => {
        const routez = (await (await fetch(`${s.monitorUrl}/routez`)).json()) as { routes: Array<{ in_bytes: number }> };
        return routez.routes.reduce((a, r) => a + r.in_bytes, 0);
      }))).reduce((a, b) => a + b, 0);
      // 2 ranks × 8 MiB out; everything that crossed a route is control traffic and subscriptions.
      assert.ok(routeBytes < 0.05 * 2 * (8 << 20), `${routeBytes} bytes crossed routes`);
    } finally {
      await Promise.all(ranks.map((c) => c.close()));
      await Promise.all(transports.map((t) => t.close()));
      await cluster.stop();
    }
  });
});

describe('striped collectives on a real nats-server (NatsWireTransport data connections)', () => {
  const server = useNatsServer();
  const world = async (n: number, options: Partial<WorldOptions>) => {
    const transports = await connectClients(server().url, n, 'striped');
    const ranks = await startWorld(transports, options);
    return {
      transports,
      ranks,
      close: async () => {
        await Promise.all(ranks.map((c) => c.close()));
        await Promise.all(transports.map((t: Transport) => t.close()));
      },
    };
  };

  it('3 ranks × 2 data connections: every collective exact, and both stripes of every rank carried frames', async () => {
    const { ranks, close } = await world(3, { connections: 2 });
    try {
      await checkAll(ranks, 'nats-striped');
      const connz = (await (await fetch(`${server().monitorUrl}/connz?limit=100`)).json()) as { connections: Array<{ name?: string; in_bytes: number; out_bytes: number }> };
      for (const r of ranksOf(3)) {
        for (const d of [0, 1]) {
          const conn = connz.connections.find((c) => c.name?.startsWith(`striped-${r}-`) && c.name.endsWith(`-r${r}-d${d}`));
          assert.ok(conn, `data connection ${d} of rank ${r} is open (${connz.connections.map((c) => c.name).join(', ')})`);
          assert.ok(conn.in_bytes > 100_000 && conn.out_bytes > 100_000, `stripe ${d} of rank ${r} moved data: in ${conn.in_bytes} out ${conn.out_bytes}`);
        }
      }
    } finally {
      await close();
    }
    const after = (await (await fetch(`${server().monitorUrl}/connz?limit=100`)).json()) as { connections: Array<{ name?: string }> };
    assert.deepEqual(after.connections.filter((c) => c.name?.includes('-d')), [], 'close() closed the data connections');
  });

  it('4 ranks, 8 MiB: contributions that wait for their turn and chunks of a call not yet started outlive the receive memory they came in', async () => {
    // 8 MiB per rank passes through each rank's 4 MiB receive arena several times over, and with
    // 4 ranks contributions often arrive before their turn in the fold (so they must be copied).
    const { ranks, close } = await world(4, { connections: 1, chunkBytes: 64 * 1024 });
    try {
      await onAll(ranks, (c) => c.barrier(0, 'ready'));
      for (let step = 1; step <= 3; step++) {
        const inputs = ranksOf(4).map((r) => rankInput(`arena-${step}`, r, 2 << 20));
        // Rank 3 starts each call late, so the others' frames for it arrive before its call exists.
        const results = await Promise.all(ranksOf(4).map(async (r) => {
          if (r === 3) await new Promise((resolve) => setTimeout(resolve, 150));
          return ranks[r]!.allReduceSum(step, 'grads', inputs[r]!, { inPlace: step === 2 ? true : false });
        }));
        const expected = bits(referenceSum(inputs.map((x, r) => (step === 2 ? rankInput(`arena-${step}`, r, 2 << 20) : x))));
        results.forEach((result, r) => assert.deepEqual(bits(result), expected, `step ${step} rank ${r}`));
      }
    } finally {
      await close();
    }
  });

  it('a rank that starts late is covered by retransmission over its data connections', async () => {
    const transports = await connectClients(server().url, 3, 'late-striped');
    const all = transports.map((t, rank) => new Collectives(t, { job: 'late', epoch: 3, rank, worldSize: 3, chunkBytes: 4096, wireDtype: 'float32', timeoutMs: 10_000, retransmitMs: 100, connections: 2 }));
    try {
      await Promise.all([all[0]!.start(), all[1]!.start()]);
      const inputs = ranksOf(3).map((r) => rankInput('late-striped', r, 10_000));
      const early = [0, 1].map((r) => all[r]!.allReduceSum(1, 'grads', inputs[r]!));
      await new Promise((resolve) => setTimeout(resolve, 400));
      await all[2]!.start();
      const results = await Promise.all([...early, all[2]!.allReduceSum(1, 'grads', inputs[2]!.slice(), { inPlace: true })]);
      const expected = bits(referenceSum(inputs));
      for (const result of results) assert.deepEqual(bits(result), expected);
      assert.ok(all[0]!.totals.retransmitFramesServed + all[1]!.totals.retransmitFramesServed > 0, 'frames were served again');
    } finally {
      await Promise.all(all.map((c) => c.close()));
      await Promise.all(transports.map((t) => t.close()));
    }
  });

  it('a nats-server restart in the middle of a 16 MiB in-place all-reduce: data connections reconnect, exact result', async () => {
    const { transports, ranks, close } = await world(2, { connections: 2, chunkBytes: 64 * 1024, timeoutMs: 20_000, retransmitMs: 100 });
    try {
      await onAll(ranks, (c) => c.barrier(0, 'ready'));
      const inputs = ranksOf(2).map((r) => rankInput('restart-striped', r, 4 << 20));
      const calls = onAll(ranks, (c, r) => c.allReduceSum(1, 'grads', inputs[r]!.slice(), { inPlace: true }));
      await server().restart();
      const results = await calls;
      const expected = bits(referenceSum(inputs));
      for (const result of results) assert.deepEqual(bits(result), expected);
      assert.ok(ranks[0]!.totals.retransmitRequests + ranks[1]!.totals.retransmitRequests > 0);
      // The next call runs on the reconnected data connections.
      const again = await onAll(ranks, (c, r) => c.allReduceSum(2, 'grads', inputs[r]!));
      for (const result of again) assert.deepEqual(bits(result), expected);
      void transports;
    } finally {
      await close();
    }
  });
});
