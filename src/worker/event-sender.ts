/**
 * @module worker/event-sender
 * Delivers a worker's events to the coordinator in order, at least once: each is a request,
 * retried until the coordinator answers (it handles duplicates). Core NATS drops what is
 * published while either side reconnects, and a lost `step.done` would leave a step forever
 * uncommitted. Events of an epoch that has been superseded are dropped instead of retried.
 */
import { ask } from '../protocol/channel.js';
import type { EventAck, WorkerEvent } from '../protocol/messages.js';
import type { Transport } from '../transport/transport.js';
import type { Logger } from '../log.js';

export class EventSender {
  private readonly queue: WorkerEvent[] = [];
  private running = false;
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly subject: string,
    private readonly currentEpoch: () => number,
    /** Called with each answer and when its request was sent. */
    private readonly onAck: (ack: EventAck, sentAt: number) => void,
    private readonly log: Logger,
    private readonly timeoutMs = 2000,
  ) {}

  send(event: WorkerEvent): void {
    this.queue.push(event);
    if (!this.running) void this.drain();
  }

  /** Resolves once everything queued has been acknowledged (or dropped as stale). */
  async flushed(): Promise<void> {
    while ((this.running || this.queue.length > 0) && !this.closed) await new Promise((r) => setTimeout(r, 20));
  }

  close(): void {
    this.closed = true;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const event = this.queue[0]!;
        if (event.type !== 'heartbeat' && event.epoch < this.currentEpoch()) {
          this.queue.shift();
          continue;
        }
        try {
          const sentAt = Date.now();
          this.onAck(await ask<EventAck>(this.transport, this.subject, event, this.timeoutMs), sentAt);
          this.queue.shift();
        } catch (err) {
          this.log.debug('event not acknowledged yet; retrying', { type: event.type, error: (err as Error).message });
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      this.running = false;
    }
  }
}
