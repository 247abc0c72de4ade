/**
 * The `Transport` contract: the same cases run against `MemoryTransport` and against
 * `NatsTransport` on a real nats-server (see `memory-transport.test.ts`, `nats-transport.test.ts`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TransportError, type Subscription, type Transport, type TransportStatus } from '../../src/transport/transport.js';

export interface TransportFixture {
  /** Two independent clients of one broker/server. */
  a: Transport;
  b: Transport;
  /** Restarts the broker/server (clients must see disconnect → reconnect and keep their subscriptions). */
  restartServer(): Promise<void>;
  /** Closes both clients. */
  close(): Promise<void>;
}

const bytes = (...values: number[]) => Uint8Array.from(values);
const text = (s: string) => new TextEncoder().encode(s);
const plain = (data: Uint8Array) => Uint8Array.from(data);

/** The first `n` messages of `sub` (subject and a copy of the bytes); fails after `timeoutMs`. */
async function take(sub: Subscription, n: number, timeoutMs = 5000): Promise<Array<{ subject: string; data: Uint8Array }>> {
  const out: Array<{ subject: string; data: Uint8Array }> = [];
  if (n === 0) return out;
  const timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
  for await (const m of sub) {
    out.push({ subject: m.subject, data: plain(m.data) });
    if (out.length === n) break;
  }
  clearTimeout(timer);
  assert.equal(out.length, n, `expected ${n} messages on ${sub.subject}, got ${out.length} within ${timeoutMs} ms`);
  return out;
}

function isTransportError(code: TransportError['code']) {
  return (err: unknown) => err instanceof TransportError && err.code === code;
}

async function waitFor(events: TransportStatus[], type: TransportStatus['type'], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!events.some((e) => e.type === type)) {
    if (Date.now() > deadline) assert.fail(`no "${type}" status within ${timeoutMs} ms; saw ${JSON.stringify(events)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function runTransportContract(name: string, setup: () => Promise<TransportFixture>): void {
  describe(`Transport contract: ${name}`, () => {
    const withPair = (title: string, body: (f: TransportFixture) => Promise<void>) =>
      it(title, async () => {
        const fixture = await setup();
        try {
          await body(fixture);
        } finally {
          await fixture.close();
        }
      });

    withPair('fans a publish out to every subscription, in order, bytes intact', async ({ a, b }) => {
      const subs = [b.subscribe('fan.x'), b.subscribe('fan.x'), a.subscribe('fan.x')];
      await Promise.all([a.flush(), b.flush()]);
      const sent = [bytes(1, 2, 3), bytes(), bytes(255, 0, 7, 9)];
      for (const data of sent) a.publish('fan.x', data);
      for (const sub of subs) {
        assert.deepEqual(await take(sub, 3), sent.map((data) => ({ subject: 'fan.x', data })));
      }
    });

    withPair('matches * to one token and > to one or more', async ({ a, b }) => {
      const star = b.subscribe('w.*.c');
      const tail = b.subscribe('w.>');
      await b.flush();
      for (const s of ['w.b.c', 'w.b', 'w.b.c.d', 'w', 'x.b.c', 'w.z.c']) a.publish(s, text(s));
      assert.deepEqual((await take(star, 2)).map((m) => m.subject), ['w.b.c', 'w.z.c']);
      assert.deepEqual((await take(tail, 4)).map((m) => m.subject), ['w.b.c', 'w.b', 'w.b.c.d', 'w.z.c']);
    });

    withPair('keeps each publisher\'s order across many messages', async ({ a, b }) => {
      const sub = a.subscribe('order.*');
      await a.flush();
      const n = 2000;
      for (let i = 0; i < n; i++) {
        a.publish('order.a', bytes(i & 255, i >> 8));
        b.publish('order.b', bytes(i & 255, i >> 8));
      }
      const got = await take(sub, 2 * n);
      for (const publisher of ['order.a', 'order.b']) {
        const seq = got.filter((m) => m.subject === publisher).map((m) => (m.data[0] as number) + 256 * (m.data[1] as number));
        assert.deepEqual(seq, Array.from({ length: n }, (_, i) => i));
      }
    });

    withPair('delivers max_payload bytes and rejects one byte more with a clear error', async ({ a, b }) => {
      const sub = b.subscribe('big');
      await b.flush();
      const max = a.maxPayload;
      assert.ok(max >= 1024, `maxPayload ${max}`);
      const full = new Uint8Array(max).map((_, i) => (i * 7) & 255);
      a.publish('big', full);
      assert.throws(() => a.publish('big', new Uint8Array(max + 1)), (err: unknown) => isTransportError('MAX_PAYLOAD')(err) && /max_payload/.test((err as Error).message));
      await assert.rejects(a.request('big', new Uint8Array(max + 1), 1000), isTransportError('MAX_PAYLOAD'));
      const [got] = await take(sub, 1);
      assert.deepEqual(got?.data, full);
    });

    withPair('rejects malformed subjects before they reach the server', async ({ a }) => {
      for (const bad of ['', 'a..b', 'a b', 'a.*', 'a.>', '.a', 'a.b*']) {
        assert.throws(() => a.publish(bad, bytes(1)), isTransportError('BAD_SUBJECT'), bad);
      }
      for (const bad of ['a.>.b', 'a..b', 'x*.y']) assert.throws(() => a.subscribe(bad), isTransportError('BAD_SUBJECT'), bad);
    });

    withPair('request/reply round-trips; respond needs a reply subject', async ({ a, b }) => {
      const sub = b.subscribe('svc.reverse');
      await b.flush();
      void (async () => {
        for await (const m of sub) b.respond(m, plain(m.data).reverse());
      })();
      assert.deepEqual(plain(await a.request('svc.reverse', bytes(1, 2, 3), 2000)), bytes(3, 2, 1));
      assert.deepEqual(plain(await a.request('svc.reverse', bytes(), 2000)), bytes());
      assert.throws(() => a.respond({ subject: 'x', data: bytes() }, bytes(1)), isTransportError('BAD_SUBJECT'));
    });

    withPair('a request nobody answers times out after its deadline', async ({ a, b }) => {
      b.subscribe('svc.silent');
      await b.flush();
      const started = Date.now();
      await assert.rejects(a.request('svc.silent', bytes(1), 300), isTransportError('TIMEOUT'));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 2000, `timed out after ${elapsed} ms`);
    });

    withPair('a request to a subject without subscribers fails with NO_RESPONDERS at once', async ({ a }) => {
      const started = Date.now();
      await assert.rejects(a.request('svc.nobody', bytes(1), 5000), isTransportError('NO_RESPONDERS'));
      assert.ok(Date.now() - started < 2000);
    });

    withPair('queue groups deliver each message to exactly one member', async ({ a, b }) => {
      const members = [b.subscribe('work', { queue: 'q' }), b.subscribe('work', { queue: 'q' })];
      await b.flush();
      const n = 40;
      for (let i = 0; i < n; i++) a.publish('work', bytes(i));
      const seen: number[] = [];
      await Promise.all(members.map(async (sub) => {
        const timer = setTimeout(() => sub.unsubscribe(), 1000);
        for await (const m of sub) seen.push(m.data[0] as number);
        clearTimeout(timer);
      }));
      assert.deepEqual(seen.sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
    });

    withPair('unsubscribe ends the iteration and stops delivery', async ({ a, b }) => {
      const sub = b.subscribe('unsub.x');
      await b.flush();
      a.publish('unsub.x', bytes(1));
      const received: number[] = [];
      for await (const m of sub) {
        received.push(m.data[0] as number);
        sub.unsubscribe();
      }
      a.publish('unsub.x', bytes(2));
      await a.flush();
      assert.deepEqual(received, [1]);
    });

    withPair('close flushes, ends subscriptions, fails later calls with CLOSED, and is idempotent', async ({ a, b }) => {
      const sub = b.subscribe('close.x');
      const idle = b.subscribe('close.idle');
      b.subscribe('close.never');
      await b.flush();
      for (let i = 0; i < 5; i++) a.publish('close.x', bytes(i));
      const pending = assert.rejects(a.request('close.never', bytes(1), 10_000), isTransportError('CLOSED'));
      await a.close();
      await pending;
      assert.equal(await a.closed(), undefined);
      await a.close();
      assert.throws(() => a.publish('close.x', bytes(9)), isTransportError('CLOSED'));
      assert.throws(() => a.subscribe('close.x'), isTransportError('CLOSED'));
      await assert.rejects(a.request('close.x', bytes(9), 100), isTransportError('CLOSED'));
      // What was published before close() still arrives.
      assert.deepEqual((await take(sub, 5)).map((m) => m.data[0]), [0, 1, 2, 3, 4]);
      const ended = (async () => {
        let n = 0;
        for await (const _ of idle) n++;
        return n;
      })();
      await b.close();
      assert.equal(await ended, 0);
      assert.equal(await b.closed(), undefined);
    });

    withPair('subscribeBorrowed hands each message to the handler at once, in order, bytes intact while it runs', async ({ a, b }) => {
      const seen: Array<{ subject: string; data: Uint8Array }> = [];
      const sub = b.subscribeBorrowed('borrow.*', (m) => seen.push({ subject: m.subject, data: plain(m.data) }));
      const grouped = [0, 1].map(() => b.subscribeBorrowed('borrow.q', (m) => seen.push({ subject: `group:${m.subject}`, data: plain(m.data) }), { queue: 'g' }));
      await b.flush();
      const sizes = [0, 1, 3, 1000, Math.min(70_000, a.maxPayload - 1), a.maxPayload];
      const sent = sizes.map((n, i) => new Uint8Array(n).map((_, j) => (j * 31 + i) & 255));
      sent.forEach((data, i) => a.publish(`borrow.${i}`, data));
      a.publish('borrow.q', bytes(9));
      await a.flush();
      await b.flush();
      const deadline = Date.now() + 5000;
      while (seen.length < sent.length + 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(seen.filter((m) => !m.subject.startsWith('group:')).slice(0, sent.length), sent.map((data, i) => ({ subject: `borrow.${i}`, data })));
      // The queue group got it once; the wildcard subscription got it too.
      assert.deepEqual(seen.filter((m) => m.subject.startsWith('group:')), [{ subject: 'group:borrow.q', data: bytes(9) }]);
      sub.unsubscribe();
      for (const g of grouped) g.unsubscribe();
      a.publish('borrow.0', bytes(1));
      await a.flush();
      await b.flush();
      assert.equal(seen.length, sent.length + 2);
    });

    withPair('openDataConnections gives connections of the same bus, closed by the caller', async ({ a, b }) => {
      const data = await a.openDataConnections(2, { name: 'stripe', spread: 1 });
      try {
        assert.equal(data.length, 2);
        const sub = b.subscribe('stripe.x');
        const back = data.map((t) => t.subscribe('stripe.back'));
        await Promise.all([b.flush(), ...data.map((t) => t.flush())]);
        data.forEach((t, i) => t.publish('stripe.x', bytes(i)));
        assert.deepEqual((await take(sub, 2)).map((m) => m.data[0]).sort(), [0, 1]);
        b.publish('stripe.back', bytes(7));
        for (const s of back) assert.deepEqual((await take(s, 1)).map((m) => m.data[0]), [7]);
        assert.equal(data[0]!.maxPayload, a.maxPayload);
      } finally {
        await Promise.all(data.map((t) => t.close()));
      }
      // The original connection is untouched.
      const sub = b.subscribe('stripe.after');
      await b.flush();
      a.publish('stripe.after', bytes(5));
      assert.deepEqual((await take(sub, 1)).map((m) => m.data[0]), [5]);
    });

    withPair('a server restart shows disconnect then reconnect, and subscriptions carry on', async (f) => {
      const events: TransportStatus[] = [];
      const publisherEvents: TransportStatus[] = [];
      f.b.onStatus((s) => events.push(s));
      f.a.onStatus((s) => publisherEvents.push(s));
      const removed: TransportStatus[] = [];
      f.a.onStatus((s) => removed.push(s))();
      const sub = f.b.subscribe('restart.x');
      await f.b.flush();
      await f.restartServer();
      await waitFor(events, 'disconnect', 5000);
      await waitFor(events, 'reconnect', 10_000);
      assert.ok(events.findIndex((e) => e.type === 'disconnect') < events.findIndex((e) => e.type === 'reconnect'));
      // What is published while disconnected is lost (at-most-once), so wait for the publisher too.
      await waitFor(publisherEvents, 'reconnect', 10_000);
      assert.deepEqual(removed, []);
      await f.b.flush();
      f.a.publish('restart.x', bytes(42));
      const [got] = await take(sub, 1, 10_000);
      assert.deepEqual(got?.data, bytes(42));
    });
  });
}
