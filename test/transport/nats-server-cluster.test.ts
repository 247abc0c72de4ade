/**
 * Local NATS clusters (`startNatsCluster`): real nats-server processes with routes on loopback
 * ports and clustered JetStream — formation, fail-over of clients and of the replicated job
 * bucket when a server is killed, rejoining, and clean stops.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { natsClusterSize, openJobStore } from '../../src/transport/connect.js';
import { DEFAULT_NATS_GOGC, startNatsCluster, type NatsClusterHandle } from '../../src/transport/nats-server.js';
import { NatsKeyValue } from '../../src/transport/nats-key-value.js';
import { NatsTransport } from '../../src/transport/nats-transport.js';
import { NatsWireTransport } from '../../src/transport/nats-wire-transport.js';
import type { Subscription, Transport } from '../../src/transport/transport.js';
import { silentLogger } from '../../src/log.js';
import { runKeyValueContract } from './key-value.contract.js';
import { rawNats } from '../helpers/raw-nats.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function first(sub: Subscription, timeoutMs = 10_000): Promise<Uint8Array> {
  const timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
  for await (const m of sub) {
    clearTimeout(timer);
    return Uint8Array.from(m.data);
  }
  throw new Error(`nothing on ${sub.subject} within ${timeoutMs} ms`);
}

/** Retries `fn` until it succeeds (a cluster heals in seconds) or `timeoutMs` passes. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const connect = (url: string, name: string) => NatsTransport.connect(url, { name, reconnectDelayMs: 50, maxReconnectDelayMs: 250 });

/** Which member (index) a client's connection is on, from the servers' /connz. */
async function memberOf(cluster: NatsClusterHandle, name: string): Promise<number> {
  for (const [i, s] of cluster.servers.entries()) {
    try {
      const connz = (await (await fetch(`${s.monitorUrl}/connz?limit=1000`)).json()) as { connections: Array<{ name?: string }> };
      if (connz.connections.some((c) => c.name === name)) return i;
    } catch {
      // a killed member answers nothing
    }
  }
  return -1;
}

describe('a local 3-server NATS cluster', () => {
  let cluster: NatsClusterHandle;
  const kvClients: NatsTransport[] = [];
  before(async () => {
    cluster = await startNatsCluster({ size: 3, jetstream: true, log: silentLogger });
  });
  after(async () => {
    await Promise.all(kvClients.map((c) => c.close()));
    await cluster.stop();
  });

  it('forms a full mesh with a JetStream meta leader; messages cross servers; clients learn the cluster size', async () => {
    assert.equal(cluster.urls.length, 3);
    assert.equal(cluster.url, cluster.urls.join(','));
    for (const s of cluster.servers) {
      const routez = (await (await fetch(`${s.monitorUrl}/routez`)).json()) as { num_routes: number };
      assert.equal(routez.num_routes, 2);
      const jsz = (await (await fetch(`${s.monitorUrl}/jsz`)).json()) as { meta_cluster: { leader: string; cluster_size: number } };
      assert.ok(jsz.meta_cluster.leader, 'a meta leader');
      assert.equal(jsz.meta_cluster.cluster_size, 3);
    }
    const clients = await Promise.all(cluster.urls.map((u, i) => connect(u, `cross-${i}`)));
    try {
      const subs = clients.map((c) => c.subscribe('cross.x'));
      await Promise.all(clients.map((c) => c.flush()));
      await new Promise((resolve) => setTimeout(resolve, 200)); // subscription interest crosses the routes
      clients[0]!.publish('cross.x', enc('hello'));
      for (const sub of subs) assert.equal(dec(await first(sub)), 'hello');
      assert.deepEqual(clients.map(natsClusterSize), [3, 3, 3]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('routes log in: a stranger on a route port is refused (a route would see every message)', async () => {
    for (const s of cluster.servers) {
      const varz = (await (await fetch(`${s.monitorUrl}/varz`)).json()) as { cluster: { cluster_port: number } };
      assert.ok(varz.cluster.cluster_port > 0);
      await assert.rejects(rawNats(`nats://127.0.0.1:${varz.cluster.cluster_port}`), /Authorization Violation/);
      await assert.rejects(rawNats(`nats://127.0.0.1:${varz.cluster.cluster_port}`, { user: 'route', pass: 'guess' }), /Authorization Violation/);
    }
  });

  runKeyValueContract('nats-cluster-R3', async (bucket) => {
    const client = await connect(cluster.url, `kv-contract-${bucket}`);
    kvClients.push(client);
    return NatsKeyValue.open(client, bucket, { replicas: 3 });
  });

  it('killing a server: clients of both kinds move to the others, and the R3 job bucket keeps its data, CAS included', async () => {
    const control = await connect(cluster.url, 'failover-control');
    const wire = await NatsWireTransport.connect(cluster.urls, { name: 'failover-wire', reconnectDelayMs: 50, maxReconnectDelayMs: 250 });
    const listener = await connect(cluster.url, 'failover-listener');
    const clients: Transport[] = [control, wire, listener];
    try {
      const kv = await openJobStore(control, 'failover', silentLogger);
      const jsm = await control.connection.jetstreamManager();
      const info = await jsm.streams.info('KV_instructue-failover');
      assert.equal(info.config.num_replicas, 3);
      const rev = await kv.put('job', enc('epoch-1'));
      // Kill the server the wire client is on (SIGKILL: a crash, no lame-duck goodbye).
      const victim = await memberOf(cluster, 'failover-wire');
      assert.ok(victim >= 0);
      const reconnected = new Promise<void>((resolve) => wire.onStatus((s) => s.type === 'reconnect' && resolve()));
      await cluster.servers[victim]!.kill();
      await reconnected;
      assert.notEqual(await memberOf(cluster, 'failover-wire'), victim);
      // Both kinds of client carry traffic again, across what is left of the cluster.
      const sub = listener.subscribe('after.kill');
      await eventually(() => listener.flush());
      await new Promise((resolve) => setTimeout(resolve, 300));
      await eventually(async () => {
        wire.publish('after.kill', enc('still here'));
        await wire.flush();
      });
      assert.equal(dec(await first(sub)), 'still here');
      // The bucket survived with its revision; compare-and-set still guards it.
      const entry = await eventually(async () => {
        const e = await kv.get('job');
        if (!e) throw new Error('not yet');
        return e;
      });
      assert.deepEqual({ value: dec(entry.value), revision: entry.revision }, { value: 'epoch-1', revision: rev });
      const rev2 = await eventually(() => kv.update('job', enc('epoch-2'), rev));
      await assert.rejects(kv.update('job', enc('stale'), rev), /not at revision/);
      assert.equal(dec((await kv.get('job'))!.value), 'epoch-2');
      assert.ok(rev2 > rev);
      // The member comes back on its ports and rejoins.
      await cluster.servers[victim]!.restart();
      await cluster.waitFormed();
      const routez = (await (await fetch(`${cluster.servers[victim]!.monitorUrl}/routez`)).json()) as { num_routes: number };
      assert.equal(routez.num_routes, 2);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('a job store opened while the cluster has no quorum waits for it and comes up with 3 replicas', async () => {
    const alone = await connect(cluster.url, 'no-quorum');
    try {
      await Promise.all([cluster.servers[1]!.kill(), cluster.servers[2]!.kill()]);
      const opening = openJobStore(alone, 'late-quorum', silentLogger, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await Promise.all([cluster.servers[1]!.restart(), cluster.servers[2]!.restart()]);
      const kv = await opening;
      assert.ok(kv instanceof NatsKeyValue, 'the JetStream bucket, not the in-memory stand-in');
      const info = await (await alone.connection.jetstreamManager()).streams.info('KV_instructue-late-quorum');
      assert.equal(info.config.num_replicas, 3);
      await kv.put('job', enc('up'));
      assert.equal(dec((await kv.get('job'))!.value), 'up');
    } finally {
      await alone.close();
    }
  });
});

describe('startNatsCluster specifics', () => {
  it('size 1 is a plain server; stop() ends every member by PID and is idempotent', async () => {
    const single = await startNatsCluster({ size: 1 });
    assert.equal(single.urls.length, 1);
    const t = await connect(single.url, 'single');
    assert.equal(natsClusterSize(t), 1);
    await t.close();
    await single.stop();
    const trio = await startNatsCluster({ size: 3 });
    const pids = trio.servers.map((s) => s.pid);
    for (const pid of pids) assert.ok(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`GOGC=${DEFAULT_NATS_GOGC}`), 'servers run with the measured GC setting');
    const logs = trio.servers.map((s) => s.logTail().join('\n'));
    assert.ok(logs.every((l) => /Server is ready/.test(l)));
    await trio.stop();
    for (const pid of [...pids]) assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await trio.stop();
  });
});
