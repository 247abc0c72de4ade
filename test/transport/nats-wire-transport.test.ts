/**
 * `NatsWireTransport` (the collectives' own NATS client) on a real nats-server: the Transport
 * contract on its own and paired with a nats.js client (both must speak the same NATS), and its
 * specifics: credentials, reconnecting to another server of a list.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NatsTransport } from '../../src/transport/nats-transport.js';
import { NatsWireTransport } from '../../src/transport/nats-wire-transport.js';
import { TransportError } from '../../src/transport/transport.js';
import { startTestNats, useNatsServer } from '../helpers/nats.js';
import { runTransportContract } from './transport.contract.js';

const wire = (url: string, name: string) => NatsWireTransport.connect(url, { name, reconnectDelayMs: 50, maxReconnectDelayMs: 250 });

describe('NatsWireTransport on a real nats-server', () => {
  const server = useNatsServer();
  runTransportContract('nats-wire', async () => {
    const [a, b] = await Promise.all([wire(server().url, 'wire-a'), wire(server().url, 'wire-b')]);
    return { a, b, restartServer: () => server().restart(), close: async () => void (await Promise.all([a.close(), b.close()])) };
  });
  runTransportContract('nats-wire publishing to nats.js', async () => {
    const a = await wire(server().url, 'wire-pub');
    const b = await NatsTransport.connect(server().url, { name: 'natsjs-sub', reconnectDelayMs: 50, maxReconnectDelayMs: 250 });
    return { a, b, restartServer: () => server().restart(), close: async () => void (await Promise.all([a.close(), b.close()])) };
  });
});

describe('NatsWireTransport specifics', () => {
  it('presents user/password and token credentials, and says when they are refused', async () => {
    const server = await startTestNats({ auth: { user: 'worker', pass: 's3cret' } });
    try {
      await assert.rejects(
        NatsWireTransport.connect(server.url, { name: 'bad', user: 'worker', pass: 'wrong' }),
        (err: unknown) => err instanceof TransportError && err.code === 'CONNECT_FAILED' && /refused the credentials/.test(err.message),
      );
      const good = await NatsWireTransport.connect(server.url, { name: 'good', user: 'worker', pass: 's3cret' });
      await good.flush();
      await good.close();
    } finally {
      await server.stop();
    }
    const tokenServer = await startTestNats({ auth: { token: 'tok-9' } });
    try {
      await assert.rejects(NatsWireTransport.connect(tokenServer.url, { name: 'none' }), TransportError);
      const good = await NatsWireTransport.connect(tokenServer.url, { name: 'tok', token: 'tok-9' });
      await good.flush();
      await good.close();
    } finally {
      await tokenServer.stop();
    }
  });

  it('a refused connection names every server tried and what to do', async () => {
    const server = await startTestNats();
    const url = server.url;
    await server.stop();
    await assert.rejects(
      NatsWireTransport.connect(`${url},nats://127.0.0.1:1`, { name: 'late' }),
      (err: unknown) => err instanceof TransportError && err.code === 'CONNECT_FAILED' && err.message.includes(url) && err.message.includes('127.0.0.1:1') && /start one/.test(err.message),
    );
  });
});
