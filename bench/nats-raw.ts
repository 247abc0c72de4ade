/**
 * Raw NATS publish → subscribe throughput, publisher and subscriber in separate processes: the
 * yardstick `bench/allreduce.ts` compares its bus bandwidth with. The subscriber measures from
 * its first message to its last (MB/s = 1e6 bytes/s). The publisher keeps at most 32 MiB
 * unacknowledged (the subscriber returns credit every 4 MiB), as the collectives do: core NATS
 * cuts off a subscriber that falls more than max_pending (64 MiB) behind, and an unpaced
 * publisher would measure that cut-off instead of the throughput. Two clients: `natsjs` (the `nats` package, as
 * `NatsTransport`) and `wire` (`NatsWireTransport`, what the collectives use; its subscriber
 * reads borrowed messages). Each process reports its CPU time, so the caller can divide the
 * work per byte between publisher, subscriber and server.
 *
 *   node dist/bench/nats-raw.js --url nats://127.0.0.1:4222 [--sub-url URL] [--payload 1048576] [--mib 256] [--client natsjs|wire]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NatsTransport } from '../src/transport/nats-transport.js';
import { NatsWireTransport } from '../src/transport/nats-wire-transport.js';
import type { Transport } from '../src/transport/transport.js';

const SUBJECT = 'bench.raw';
const CREDIT_SUBJECT = 'bench.raw.credit';
const WINDOW = 32 * 1024 * 1024;
const CREDIT_EVERY = 4 * 1024 * 1024;

export type RawClient = 'natsjs' | 'wire';

export interface CpuMs {
  user: number;
  system: number;
}

export interface RawResult {
  mbps: number;
  /** Bytes the subscriber counted. */
  bytes: number;
  pub: CpuMs;
  sub: CpuMs;
}

/** One run: MB/s seen by a subscriber process (on `subUrl`) while a publisher process (on `pubUrl`) sends `totalBytes`. */
export async function measureRawThroughput(pubUrl: string, subUrl: string, payloadBytes: number, totalBytes: number, client: RawClient = 'natsjs'): Promise<RawResult> {
  const script = fileURLToPath(import.meta.url);
  const args = ['--payload', String(payloadBytes), '--bytes', String(totalBytes), '--client', client];
  const sub = fork(script, ['--role', 'sub', '--url', subUrl, ...args]);
  try {
    await nextMessage(sub); // subscribed and flushed
    const result = nextMessage(sub) as Promise<Omit<RawResult, 'pub'>>;
    const pub = fork(script, ['--role', 'pub', '--url', pubUrl, ...args]);
    const pubCpu = nextMessage(pub) as Promise<{ cpu: CpuMs }>;
    const [r, p] = await Promise.all([result, pubCpu, exitOk(pub)]);
    await exitOk(sub);
    return { ...r, pub: p.cpu };
  } finally {
    if (sub.exitCode === null) sub.kill();
  }
}

function nextMessage(child: ReturnType<typeof fork>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`bench child exited with ${code} before answering`)));
  });
}

function exitOk(child: ReturnType<typeof fork>): Promise<void> {
  if (child.exitCode !== null) return child.exitCode === 0 ? Promise.resolve() : Promise.reject(new Error(`exit ${child.exitCode}`));
  return new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench child exited with ${code}`)))));
}

function connect(url: string, name: string, client: RawClient): Promise<Transport> {
  return client === 'wire' ? NatsWireTransport.connect(url, { name }) : NatsTransport.connect(url, { name });
}

function cpuSince(start: NodeJS.CpuUsage): CpuMs {
  const d = process.cpuUsage(start);
  return { user: d.user / 1000, system: d.system / 1000 };
}

async function subscriber(url: string, totalBytes: number, client: RawClient): Promise<void> {
  const transport = await connect(url, 'bench-raw-sub', client);
  let received = 0;
  let first = 0;
  let firstBytes = 0;
  let cpu0 = process.cpuUsage();
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let credited = 0;
  const count = (bytes: number) => {
    if (received === 0) {
      first = performance.now();
      firstBytes = bytes;
      cpu0 = process.cpuUsage();
    }
    received += bytes;
    if (received - credited >= CREDIT_EVERY) {
      credited = received;
      transport.publish(CREDIT_SUBJECT, new TextEncoder().encode(String(received)));
    }
    if (received >= totalBytes) done();
  };
  const sub = transport.subscribeBorrowed(SUBJECT, (m) => count(m.data.byteLength));
  await transport.flush();
  process.send?.({ ready: true });
  await finished;
  const seconds = (performance.now() - first) / 1000;
  process.send?.({ mbps: (received - firstBytes) / seconds / 1e6, bytes: received, sub: cpuSince(cpu0) });
  sub.unsubscribe();
  await transport.close();
}

async function publisher(url: string, payloadBytes: number, totalBytes: number, client: RawClient): Promise<void> {
  const transport = await connect(url, 'bench-raw-pub', client);
  const payload = new Uint8Array(payloadBytes).fill(7);
  let acked = 0;
  let wake: (() => void) | undefined;
  const credit = transport.subscribeBorrowed(CREDIT_SUBJECT, (m) => {
    acked = Math.max(acked, Number(new TextDecoder().decode(m.data)));
    wake?.();
  });
  await transport.flush();
  const cpu0 = process.cpuUsage();
  for (let sent = 0; sent < totalBytes; sent += payloadBytes) {
    while (sent - acked >= WINDOW) await new Promise<void>((resolve) => (wake = resolve));
    transport.publish(SUBJECT, payload);
    // Let the socket drain and credit arrive now and then (a publish only queues).
    if ((sent / payloadBytes) % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
  }
  await transport.flush();
  credit.unsubscribe();
  process.send?.({ cpu: cpuSince(cpu0) });
  await transport.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' }, url: { type: 'string' }, 'sub-url': { type: 'string' }, payload: { type: 'string', default: String(1024 * 1024) },
      bytes: { type: 'string' }, mib: { type: 'string', default: '256' }, client: { type: 'string', default: 'natsjs' },
    },
  });
  const url = values.url ?? 'nats://127.0.0.1:4222';
  const payload = Number(values.payload);
  const total = values.bytes ? Number(values.bytes) : Number(values.mib) * 1024 * 1024;
  const client = values.client as RawClient;
  if (values.role === 'sub') await subscriber(url, total, client);
  else if (values.role === 'pub') await publisher(url, payload, total, client);
  else {
    const r = await measureRawThroughput(url, values['sub-url'] ?? url, payload, total, client);
    console.log(`raw pub→sub (${client}), ${payload} B payloads: ${r.mbps.toFixed(1)} MB/s; CPU ms per MB: publisher ${((r.pub.user + r.pub.system) / (r.bytes / 1e6)).toFixed(2)}, subscriber ${((r.sub.user + r.sub.system) / (r.bytes / 1e6)).toFixed(2)}`);
  }
}
