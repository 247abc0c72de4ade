/**
 * The `KeyValueStore` contract, run against `MemoryKeyValue` and `NatsKeyValue` (real
 * nats-server with JetStream) by `key-value.test.ts`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyValueError, type KeyValueStore } from '../../src/transport/key-value.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const isKvError = (code: KeyValueError['code']) => (err: unknown) => err instanceof KeyValueError && err.code === code;

/** `open(bucket)` returns a store on a fresh, empty bucket. */
export function runKeyValueContract(name: string, open: (bucket: string) => Promise<KeyValueStore>): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    let n = 0;
    const fresh = () => open(`kvtest_${name}_${n++}`);

    it('get of a missing key is null; put/get round-trips with increasing revisions', async () => {
      const kv = await fresh();
      assert.equal(await kv.get('job.state'), null);
      const r1 = await kv.put('job.state', enc('starting'));
      const r2 = await kv.put('job.epoch', enc('1'));
      const r3 = await kv.put('job.state', enc('running'));
      assert.ok(r1 > 0 && r2 > r1 && r3 > r2, `revisions ${r1} ${r2} ${r3}`);
      const got = await kv.get('job.state');
      assert.deepEqual({ value: dec(got!.value), revision: got!.revision }, { value: 'running', revision: r3 });
    });

    it('create succeeds only when the key is absent (again after a delete)', async () => {
      const kv = await fresh();
      const r1 = await kv.create('leader', enc('coord-a'));
      await assert.rejects(kv.create('leader', enc('coord-b')), isKvError('EXISTS'));
      assert.deepEqual(dec((await kv.get('leader'))!.value), 'coord-a');
      await kv.delete('leader');
      assert.equal(await kv.get('leader'), null);
      const r2 = await kv.create('leader', enc('coord-b'));
      assert.ok(r2 > r1);
      assert.deepEqual(await kv.get('leader').then((e) => e && dec(e.value)), 'coord-b');
    });

    it('update is compare-and-set on the revision; exactly one of two racers wins', async () => {
      const kv = await fresh();
      const r1 = await kv.put('membership', enc('epoch-1'));
      const r2 = await kv.update('membership', enc('epoch-2'), r1);
      await assert.rejects(kv.update('membership', enc('epoch-2b'), r1), isKvError('REVISION_MISMATCH'));
      const racers = await Promise.allSettled([kv.update('membership', enc('epoch-3a'), r2), kv.update('membership', enc('epoch-3b'), r2)]);
      assert.deepEqual(racers.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      const winner = racers.findIndex((r) => r.status === 'fulfilled');
      const entry = await kv.get('membership');
      assert.equal(dec(entry!.value), winner === 0 ? 'epoch-3a' : 'epoch-3b');
      assert.equal(entry!.revision, (racers[winner] as PromiseFulfilledResult<number>).value);
      await assert.rejects(kv.update('never.written', enc('x'), 5), isKvError('REVISION_MISMATCH'));
      const fromNothing = await kv.update('never.written', enc('x'), 0);
      assert.equal((await kv.get('never.written'))!.revision, fromNothing);
    });

    it('keys lists live keys by prefix, sorted; delete removes a key', async () => {
      const kv = await fresh();
      for (const key of ['ckpt.latest', 'members.2', 'members.0', 'members.1', 'job']) await kv.put(key, enc(key));
      await kv.delete('members.1');
      await kv.delete('missing.key');
      assert.deepEqual(await kv.keys('members.'), ['members.0', 'members.2']);
      assert.deepEqual(await kv.keys(), ['ckpt.latest', 'job', 'members.0', 'members.2']);
      assert.deepEqual(await kv.keys('nothing'), []);
    });

    it('values are binary-safe and isolated from later changes to the caller\'s buffer', async () => {
      const kv = await fresh();
      const value = Uint8Array.from([0, 255, 10, 13, 0]);
      await kv.put('bin', value);
      value[1] = 1;
      assert.deepEqual(Uint8Array.from((await kv.get('bin'))!.value), Uint8Array.from([0, 255, 10, 13, 0]));
      await kv.put('empty', new Uint8Array());
      assert.equal((await kv.get('empty'))!.value.byteLength, 0);
    });

    it('rejects keys JetStream would refuse', async () => {
      const kv = await fresh();
      for (const bad of ['', 'a b', '.lead', 'trail.', 'star*', 'gt>']) await assert.rejects(kv.put(bad, enc('x')), isKvError('INVALID_KEY'), bad);
    });
  });
}
