/**
 * @module worker/heartbeat-thread
 * The body of a worker's heartbeat thread (src/worker/heartbeat.ts): its own NATS connection,
 * a heartbeat request every interval with the epoch and step the main thread last published in
 * shared memory, the time of each answer stored back, and each answer posted to the main
 * thread (which acts on it when it is free).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { silentLogger } from '../log.js';
import { ask } from '../protocol/channel.js';
import type { EventAck } from '../protocol/messages.js';
import { connectNats } from '../transport/connect.js';
import type { NatsClientSettings } from '../transport/nats-credentials.js';
import type { HeartbeatShared } from './heartbeat.js';

interface ThreadData {
  natsUrl: string;
  settings: NatsClientSettings;
  subject: string;
  workerId: string;
  intervalMs: number;
  shared: HeartbeatShared;
}

const data = workerData as ThreadData;
const counters = new Int32Array(data.shared.counters);
const lastAnswer = new Float64Array(data.shared.lastAnswer);
let backend = '';
parentPort!.on('message', (m: { type: 'backend'; backend: string }) => {
  if (m.type === 'backend') backend = m.backend;
});

const transport = await connectNats(data.natsUrl, `heartbeat-${data.workerId}`, data.settings, silentLogger);
const beat = async () => {
  const message = { type: 'heartbeat' as const, workerId: data.workerId, epoch: Atomics.load(counters, 0), step: Atomics.load(counters, 1), backend };
  const sentAt = Date.now();
  try {
    const ack = await ask<EventAck>(transport, data.subject, message, data.intervalMs);
    lastAnswer[0] = Date.now();
    parentPort!.postMessage({ type: 'ack', ack, sentAt });
  } catch {
    // no answer this time: the main thread judges silence by `lastAnswer`
  }
};
for (;;) {
  const started = Date.now();
  await beat();
  await new Promise((r) => setTimeout(r, Math.max(0, data.intervalMs - (Date.now() - started))));
}
