import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { startNatsServer } from '../../src/transport/nats-server.js';
import { NatsTransport } from '../../src/transport/nats-transport.js';
import { TransportError } from '../../src/transport/transport.js';
import { connectClients, startTestNats, useNatsServer } from '../helpers/nats.js';
import { runTransportContract } from './transport.contract.js';

describe('NatsTransport on a real nats-server', () => {
  const server = useNatsServer();
  runTransportContract('nats', async () => {
    const [a, b] = await connectClients(server().url, 2, 'contract');
    return {
      a: a!,
      b: b!,
      restartServer: () => server().restart(),
      close: async () => {
        await Promise.all([a!.close(), b!.close()]);
      },
    };
  });
});

describe('nats-server launcher and NatsTransport specifics', () => {
  it('applies max_payload from the config it writes', async () => {
    const server = await startTestNats({ maxPayload: 4 * 1024 * 1024 });
    try {
      const [t] = await connectClients(server.url, 1, 'big');
      assert.equal(t!.maxPayload, 4 * 1024 * 1024);
      await t!.close();
    } finally {
      await server.stop();
    }
  });

  it('enforces user/password auth, with a clear error for wrong credentials', async () => {
    const server = await startTestNats({ auth: { user: 'worker', pass: 's3cret' } });
    try {
      await assert.rejects(
        NatsTransport.connect(server.url, { name: 'bad', user: 'worker', pass: 'wrong' }),
        (err: unknown) => err instanceof TransportError && err.code === 'CONNECT_FAILED' && /refused the credentials/.test(err.message),
      );
      const good = await NatsTransport.connect(server.url, { name: 'good', user: 'worker', pass: 's3cret' });
      await good.flush();
      await good.close();
    } finally {
      await server.stop();
    }
  });

  it('enforces token auth', async () => {
    const server = await startTestNats({ auth: { token: 'tok-123' } });
    try {
      await assert.rejects(NatsTransport.connect(server.url, { name: 'none' }), TransportError);
      const good = await NatsTransport.connect(server.url, { name: 'tok', token: 'tok-123' });
      await good.close();
    } finally {
      await server.stop();
    }
  });

  it('stop() ends the process by PID, and a refused connection says what to do', async () => {
    const server = await startNatsServer();
    const { pid, url } = server;
    await server.stop();
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await server.stop();
    await assert.rejects(NatsTransport.connect(url, { name: 'late' }), (err: unknown) => err instanceof TransportError && err.code === 'CONNECT_FAILED' && /start one/.test(err.message));
  });

  it('restart() keeps the port and the JetStream store', async () => {
    const server = await startTestNats({ jetstream: true });
    try {
      const { port, pid } = server;
      await server.restart();
      assert.equal(server.port, port);
      assert.notEqual(server.pid, pid);
      assert.ok(server.logTail().some((line) => line.includes('Server is ready')));
    } finally {
      await server.stop();
    }
  });

  it('names the missing binary and how to install it', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(startNatsServer(), (err: unknown) => err instanceof ConfigError && /apt-get install -y nats-server/.test(err.message));
    } finally {
      process.env.PATH = path;
    }
  });
});
