/**
 * A `Transport` wrapper for fault injection: drops or delays chosen publishes of the wrapped
 * transport (everything else passes through unchanged).
 */
import { decodeChunkHeader, isChunkFrame } from '../../../src/collectives/chunk-frame.js';
import type { ChunkHeader } from '../../../src/protocol/messages.js';
import type { BorrowedSubscription, DataConnectionOptions, PublishOptions, SubscribeOptions, Subscription, Transport, TransportMessage, TransportStatus } from '../../../src/transport/transport.js';

/** Decides per publish; `header` is set for collective chunk frames. */
export type PublishRule = (subject: string, header: ChunkHeader | undefined) => boolean;

export class FaultTransport implements Transport {
  /** Rules and record, shared with the wrappers of this transport's data connections. */
  private readonly faults: { dropped: string[]; dropRules: Array<{ rule: PublishRule; times: number }>; delayRule?: { rule: PublishRule; ms: () => number } };

  constructor(private readonly inner: Transport, shared?: FaultTransport) {
    this.faults = shared?.faults ?? { dropped: [], dropRules: [] };
  }

  /** Publishes dropped so far, as `subject#seq`. */
  get dropped(): string[] {
    return this.faults.dropped;
  }

  /** Drops the first `times` publishes matching `rule` (Infinity = all of them). */
  drop(rule: PublishRule, times = 1): this {
    this.faults.dropRules.push({ rule, times });
    return this;
  }

  /** Delays publishes matching `rule` by `ms()` milliseconds (reordering them). */
  delay(rule: PublishRule, ms: () => number): this {
    this.faults.delayRule = { rule, ms };
    return this;
  }

  get name(): string {
    return this.inner.name;
  }

  get maxPayload(): number {
    return this.inner.maxPayload;
  }

  publish(subject: string, data: Uint8Array, options?: PublishOptions): void {
    const header = isChunkFrame(data) ? decodeChunkHeader(data) : undefined;
    const { dropRules, delayRule } = this.faults;
    const drop = dropRules.find((d) => d.times > 0 && d.rule(subject, header));
    if (drop) {
      drop.times--;
      this.dropped.push(`${subject}#${header?.seq ?? '-'}`);
      return;
    }
    if (delayRule?.rule(subject, header)) {
      // A network delays a copy, not the sender's memory (which a later publish may reuse).
      const copy = new Uint8Array(data);
      setTimeout(() => this.inner.publish(subject, copy, options), delayRule.ms());
      return;
    }
    this.inner.publish(subject, data, options);
  }

  subscribe(subject: string, options?: SubscribeOptions): Subscription {
    return this.inner.subscribe(subject, options);
  }

  subscribeBorrowed(subject: string, handler: (message: TransportMessage) => void, options?: SubscribeOptions): BorrowedSubscription {
    return this.inner.subscribeBorrowed(subject, handler, options);
  }

  /** The inner transport's data connections, each wrapped with the same rules (faults hit every stripe). */
  async openDataConnections(count: number, options: DataConnectionOptions): Promise<Transport[]> {
    const inner = await this.inner.openDataConnections(count, options);
    return inner.map((t) => new FaultTransport(t, this));
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.inner.request(subject, data, timeoutMs);
  }

  respond(message: TransportMessage, data: Uint8Array): void {
    this.inner.respond(message, data);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  closed(): Promise<void | Error> {
    return this.inner.closed();
  }

  onStatus(listener: (status: TransportStatus) => void): () => void {
    return this.inner.onStatus(listener);
  }
}
