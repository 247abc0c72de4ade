/**
 * @module worker/heartbeat
 * A worker's heartbeat, kept apart from its main thread: a `worker_threads` thread with its own
 * NATS connection (src/worker/heartbeat-thread.ts) sends a heartbeat request every
 * `heartbeatMs` and hands each answer back. A training step can keep the main thread busy for
 * longer than `dist.worker_timeout_ms` (the first step on a loaded machine compiles kernels);
 * heartbeats sent from it would stop, and a healthy worker would be dropped. The thread also
 * records, in shared memory, when the coordinator last answered, so the main thread can tell
 * "the coordinator is gone" from "I was busy".
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import type { EventAck } from '../protocol/messages.js';
import type { NatsClientSettings } from '../transport/nats-credentials.js';

export interface HeartbeatOptions {
  natsUrl: string;
  settings: NatsClientSettings;
  /** `{job}.coord.events.{workerId}` */
  subject: string;
  workerId: string;
  intervalMs: number;
  log: Logger;
  /** Called (on the main thread) with each answer and when its heartbeat was sent. */
  onAck: (ack: EventAck, sentAt: number) => void;
}

/** Shared slots: [0] epoch, [1] step (Int32); last answer time in ms (Float64). */
export interface HeartbeatShared {
  counters: SharedArrayBuffer;
  lastAnswer: SharedArrayBuffer;
}

const THREAD = new URL('./heartbeat-thread.js', import.meta.url);

export class Heartbeat {
  private readonly counters = new Int32Array(new SharedArrayBuffer(8));
  private readonly lastAnswer = new Float64Array(new SharedArrayBuffer(8));
  private readonly thread: Worker;
  private backend = '';

  constructor(opts: HeartbeatOptions) {
    this.lastAnswer[0] = Date.now();
    const shared: HeartbeatShared = { counters: this.counters.buffer as SharedArrayBuffer, lastAnswer: this.lastAnswer.buffer as SharedArrayBuffer };
    this.thread = new Worker(THREAD, {
      workerData: { natsUrl: opts.natsUrl, settings: opts.settings, subject: opts.subject, workerId: opts.workerId, intervalMs: opts.intervalMs, shared },
    });
    // Thread messages say `kind`, not `type`: they are not NATS messages (src/protocol/messages.ts).
    this.thread.on('message', (m: { kind: 'ack'; ack: EventAck; sentAt: number }) => {
      if (m.kind === 'ack') opts.onAck(m.ack, m.sentAt);
    });
    this.thread.on('error', (err) => opts.log.error('heartbeat thread failed', { error: err.message }));
    this.thread.unref();
  }

  /** What the next heartbeats report. */
  update(epoch: number, step: number, backend: string): void {
    Atomics.store(this.counters, 0, epoch);
    Atomics.store(this.counters, 1, step);
    if (backend !== this.backend) {
      this.backend = backend;
      this.thread.postMessage({ kind: 'backend', backend });
    }
  }

  /** When the coordinator last answered a heartbeat (ms since the epoch), as seen by the thread. */
  lastAnswerAt(): number {
    return this.lastAnswer[0]!;
  }

  async stop(): Promise<void> {
    await this.thread.terminate();
  }
}
