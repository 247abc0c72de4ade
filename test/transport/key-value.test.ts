import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyValueError } from '../../src/transport/key-value.js';
import { MemoryKeyValue } from '../../src/transport/memory-key-value.js';
import { NatsKeyValue } from '../../src/transport/nats-key-value.js';
import type { NatsTransport } from '../../src/transport/nats-transport.js';
import { connectClients, startTestNats, useNatsServer } from '../helpers/nats.js';
import { runKeyValueContract } from './key-value.contract.js';

runKeyValueContract('memory', async (bucket) => new MemoryKeyValue(bucket));

describe('NatsKeyValue on a real nats-server with JetStream', () => {
  const server = useNatsServer({ jetstream: true });
  let client: NatsTransport | undefined;
  runKeyValueContract('nats', async (bucket) => {
    client ??= (await connectClients(server().url, 1, 'kv'))[0]!;
    return NatsKeyValue.open(client, bucket);
  });

  it('survives a server restart: the bucket and its revisions persist', async () => {
    const [writer] = await connectClients(server().url, 1, 'kv-persist');
    const kv = await NatsKeyValue.open(writer!, 'persist');
    const revision = await kv.put('ckpt.latest', new TextEncoder().encode('step-40'));
    await writer!.close();
    await client?.close();
    client = undefined;
    await server().restart();
    const [reader] = await connectClients(server().url, 1, 'kv-reader');
    const again = await NatsKeyValue.open(reader!, 'persist');
    const entry = await again.get('ckpt.latest');
    assert.deepEqual({ value: new TextDecoder().decode(entry!.value), revision: entry!.revision }, { value: 'step-40', revision });
    await reader!.close();
  });
});

describe('NatsKeyValue without JetStream', () => {
  it('says that the server needs -js', async () => {
    const server = await startTestNats();
    const [t] = await connectClients(server.url, 1, 'nojs');
    try {
      await assert.rejects(NatsKeyValue.open(t!, 'b'), (err: unknown) => err instanceof KeyValueError && err.code === 'UNAVAILABLE' && /-js/.test(err.message));
    } finally {
      await t!.close();
      await server.stop();
    }
  });
});
