/**
 * Test harness for a real nats-server: one server per suite on a free loopback port, with its
 * own temp store directory, stopped (by PID) and removed after the suite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startNatsServer, type NatsServerHandle, type StartNatsServerOptions } from '../../src/transport/nats-server.js';
import { NatsTransport } from '../../src/transport/nats-transport.js';

export interface TestNats extends NatsServerHandle {
  /** The temp directory holding the JetStream store. */
  readonly dir: string;
}

/** Starts a server with a fresh temp store; `stop()` also removes the directory. */
export async function startTestNats(options: Omit<StartNatsServerOptions, 'storeDir'> = {}): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), 'instructue-test-nats-'));
  const server = await startNatsServer({ ...options, storeDir: join(dir, 'store') });
  return Object.assign(Object.create(server) as NatsServerHandle, {
    dir,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  }) as TestNats;
}

/**
 * Registers `before`/`after` hooks in the current `describe` that start and stop one server;
 * returns a getter for it.
 */
export function useNatsServer(options: Omit<StartNatsServerOptions, 'storeDir'> = {}): () => TestNats {
  let server: TestNats | undefined;
  before(async () => {
    server = await startTestNats(options);
  });
  after(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('nats-server not started: call the getter inside a test');
    return server;
  };
}

/** Connects `count` clients named `${prefix}-${i}` with reconnect delays suited to tests. */
export async function connectClients(url: string, count: number, prefix: string): Promise<NatsTransport[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => NatsTransport.connect(url, { name: `${prefix}-${i}`, reconnectDelayMs: 50, maxReconnectDelayMs: 250 })));
}
