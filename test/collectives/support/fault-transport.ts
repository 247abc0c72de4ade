/**
 * A `Transport` wrapper for fault injection: drops or delays chosen publishes of the wrapped
 * transport (everything else passes through unchanged).
 */
import { decodeChunkHeader, isChunkFrame } from '../../../src/collectives/chunk-frame.js';
import type { ChunkHeader } from '../../../src/protocol/messages.js';
import type { PublishOptions, SubscribeOptions, Subscription, Transport, TransportMessage, TransportStatus } from '../../../src/transport/transport.js';

/** Decides per publish; `header` is set for collective chunk frames. */
export type PublishRule = (subject: string, header: ChunkHeader | undefined) => boolean;

export class FaultTransport implements Transport {
  /** Publishes dropped so far, as `subject#seq`. */
  readonly dropped: string[] = [];
  private dropRules: Array<{ rule: PublishRule; times: number }> = [];
  private delayRule: { rule: PublishRule; ms: () => number } | undefined;

  constructor(private readonly inner: Transport) {}

  /** Drops the first `times` publishes matching `rule` (Infinity = all of them). */
  drop(rule: PublishRule, times = 1): this {
    this.dropRules.push({ rule, times });
    return this;
  }

  /** Delays publishes matching `rule` by `ms()` milliseconds (reordering them). */
  delay(rule: PublishRule, ms: () => number): this {
    this.delayRule = { rule, ms };
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
    const drop = this.dropRules.find((d) => d.times > 0 && d.rule(subject, header));
    if (drop) {
      drop.times--;
      this.dropped.push(`${subject}#${header?.seq ?? '-'}`);
      return;
    }
    if (this.delayRule?.rule(subject, header)) {
      setTimeout(() => this.inner.publish(subject, data, options), this.delayRule.ms());
      return;
    }
    this.inner.publish(subject, data, options);
  }

  subscribe(subject: string, options?: SubscribeOptions): Subscription {
    return this.inner.subscribe(subject, options);
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
