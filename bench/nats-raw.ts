/**
 * Raw NATS publish → subscribe throughput, publisher and subscriber in separate processes: the
 * yardstick `bench/allreduce.ts` compares its bus bandwidth with. The subscriber measures from
 * its first message to its last (MB/s = 1e6 bytes/s); the publisher awaits `flush()` every
 * 8 MiB, as a well-behaved bulk sender would.
 *
 *   node dist/bench/nats-raw.js --url nats://127.0.0.1:4222 [--payload 1048576] [--mib 256]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NatsTransport } from '../src/transport/nats-transport.js';

const SUBJECT = 'bench.raw';
const FLUSH_EVERY = 8 * 1024 * 1024;

/** One run: MB/s seen by a subscriber process while a publisher process sends `totalBytes`. */
export async function measureRawThroughput(url: string, payloadBytes: number, totalBytes: number): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  const args = ['--url', url, '--payload', String(payloadBytes), '--bytes', String(totalBytes)];
  const sub = fork(script, ['--role', 'sub', ...args]);
  try {
    await nextMessage(sub); // subscribed and flushed
    const result = nextMessage(sub);
    const pub = fork(script, ['--role', 'pub', ...args]);
    const [{ mbps }] = await Promise.all([result as Promise<{ mbps: number }>, exitOk(pub)]);
    await exitOk(sub);
    return mbps;
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

async function subscriber(url: string, totalBytes: number): Promise<void> {
  const transport = await NatsTransport.connect(url, { name: 'bench-raw-sub' });
  const sub = transport.subscribe(SUBJECT);
  await transport.flush();
  process.send?.({ ready: true });
  let received = 0;
  let first = 0;
  let firstBytes = 0;
  for await (const message of sub) {
    if (received === 0) {
      first = performance.now();
      firstBytes = message.data.byteLength;
    }
    received += message.data.byteLength;
    if (received >= totalBytes) break;
  }
  const seconds = (performance.now() - first) / 1000;
  process.send?.({ mbps: (received - firstBytes) / seconds / 1e6 });
  await transport.close();
}

async function publisher(url: string, payloadBytes: number, totalBytes: number): Promise<void> {
  const transport = await NatsTransport.connect(url, { name: 'bench-raw-pub' });
  const payload = new Uint8Array(payloadBytes).fill(7);
  let sinceFlush = 0;
  for (let sent = 0; sent < totalBytes; sent += payloadBytes) {
    transport.publish(SUBJECT, payload);
    sinceFlush += payloadBytes;
    if (sinceFlush >= FLUSH_EVERY) {
      sinceFlush = 0;
      await transport.flush();
    }
  }
  await transport.flush();
  await transport.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { role: { type: 'string' }, url: { type: 'string' }, payload: { type: 'string', default: String(1024 * 1024) }, bytes: { type: 'string' }, mib: { type: 'string', default: '256' } } });
  const url = values.url ?? 'nats://127.0.0.1:4222';
  const payload = Number(values.payload);
  const total = values.bytes ? Number(values.bytes) : Number(values.mib) * 1024 * 1024;
  if (values.role === 'sub') await subscriber(url, total);
  else if (values.role === 'pub') await publisher(url, payload, total);
  else console.log(`raw pub→sub, ${payload} B payloads: ${(await measureRawThroughput(url, payload, total)).toFixed(1)} MB/s`);
}
