import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBroker } from '../../src/transport/memory-transport.js';
import { runTransportContract } from './transport.contract.js';

runTransportContract('memory', async () => {
  const broker = new MemoryBroker({ maxPayload: 64 * 1024 });
  const a = broker.connect('a');
  const b = broker.connect('b');
  return {
    a,
    b,
    restartServer: () => broker.restart(),
    close: async () => {
      await Promise.all([a.close(), b.close()]);
    },
  };
});

describe('MemoryTransport specifics', () => {
  it('delivers on a later turn of the event loop, never inside publish', async () => {
    const broker = new MemoryBroker();
    const t = broker.connect('t');
    const sub = t.subscribe('x');
    const order: string[] = [];
    const received = (async () => {
      for await (const _ of sub) {
        order.push('delivered');
        break;
      }
    })();
    t.publish('x', new Uint8Array([1]));
    order.push('published');
    await received;
    assert.deepEqual(order, ['published', 'delivered']);
    await t.close();
  });

  it('hands out payloads at every byte offset 0-3, each receiver with its own copy', async () => {
    const broker = new MemoryBroker();
    const pub = broker.connect('pub');
    const subs = [broker.connect('s1').subscribe('y'), broker.connect('s2').subscribe('y')];
    const payload = new Uint8Array([5, 6, 7, 8]);
    for (let i = 0; i < 4; i++) pub.publish('y', payload);
    payload[0] = 99; // the sender's buffer changing after publish must not matter
    const offsets = new Set<number>();
    const copies: Uint8Array[] = [];
    for (const sub of subs) {
      let n = 0;
      for await (const m of sub) {
        offsets.add(m.data.byteOffset % 4);
        copies.push(m.data);
        if (++n === 4) break;
      }
    }
    assert.deepEqual([...offsets].sort(), [0, 1, 2, 3]);
    copies[0]![1] = 0;
    assert.deepEqual(copies.slice(1).map((c) => Array.from(c)), Array.from({ length: 7 }, () => [5, 6, 7, 8]));
  });

  it('echo: false keeps a client\'s own publishes from its subscriptions', async () => {
    const broker = new MemoryBroker();
    const quiet = broker.connect('quiet', { echo: false });
    const other = broker.connect('other');
    const own = quiet.subscribe('e');
    const theirs = other.subscribe('e');
    quiet.publish('e', new Uint8Array([1]));
    other.publish('e', new Uint8Array([2]));
    const first = async (s: typeof own) => {
      for await (const m of s) return Array.from(m.data);
      return [];
    };
    assert.deepEqual(await first(own), [2]);
    assert.deepEqual(await first(theirs), [1]);
  });
});
