/**
 * @module transport/memory-transport
 * In-process implementation of `Transport`: a `MemoryBroker` routes messages between the
 * `MemoryTransport` clients it hands out, with the semantics of core NATS that callers depend on:
 * wildcard subjects, queue groups, request/reply with no-responders, the `max_payload` limit,
 * per-publisher ordering and asynchronous delivery (a message is delivered on a later turn of the
 * event loop, never inside `publish`). Each receiver gets its own copy of the bytes, placed at a
 * rotating byte offset 0–3 of its buffer, because NATS hands out payloads at arbitrary offsets
 * and float decoders must cope with that.
 */
import { AsyncQueue } from './async-queue.js';
import { subjectMatches, validateSubject } from './subject-syntax.js';
import {
  closedError,
  DEFAULT_MAX_PAYLOAD,
  maxPayloadError,
  TransportError,
  type BorrowedSubscription,
  type DataConnectionOptions,
  type PublishOptions,
  type SubscribeOptions,
  type Subscription,
  type Transport,
  type TransportMessage,
  type TransportStatus,
} from './transport.js';

/** Where a subscription's messages go: an `AsyncQueue`, or a borrowed-message handler. */
interface Sink {
  push(message: TransportMessage): void;
  end(): void;
  readonly isEnded: boolean;
}

interface MemorySub {
  readonly client: MemoryTransport;
  readonly pattern: string;
  readonly queueGroup: string | undefined;
  readonly queue: Sink;
}

export interface MemoryBrokerOptions {
  /** Largest accepted payload in bytes (default 1 MiB, like nats-server). */
  maxPayload?: number;
}

export class MemoryBroker {
  readonly maxPayload: number;
  private readonly subs = new Set<MemorySub>();
  private readonly clients = new Set<MemoryTransport>();
  private pending: Array<{ sub: MemorySub; message: TransportMessage }> = [];
  private scheduled = false;
  private deliveries = 0;
  private nextClientId = 0;
  private queueCursor = 0;

  constructor(options: MemoryBrokerOptions = {}) {
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** A new client; `echo: false` keeps its own publishes away from its own subscriptions (NATS `noEcho`). */
  connect(name: string, options: { echo?: boolean } = {}): MemoryTransport {
    const client = new MemoryTransport(this, name, `c${this.nextClientId++}`, options.echo ?? true);
    this.clients.add(client);
    return client;
  }

  /**
   * Simulates a server restart: every client sees `disconnect`, undelivered messages are lost,
   * then every client sees `reconnect` and its subscriptions carry on.
   */
  async restart(): Promise<void> {
    for (const client of this.clients) client.emitStatus({ type: 'disconnect', detail: 'memory broker restart' });
    this.pending = [];
    await new Promise((resolve) => setTimeout(resolve, 10));
    for (const client of this.clients) client.emitStatus({ type: 'reconnect', detail: 'memory broker' });
  }

  /** @internal Routes one message; returns how many subscriptions it was queued for. */
  route(from: MemoryTransport, subject: string, data: Uint8Array, reply: string | undefined): number {
    const groups = new Map<string, MemorySub[]>();
    let matched = 0;
    for (const sub of this.subs) {
      if (sub.queue.isEnded) {
        this.subs.delete(sub);
        continue;
      }
      if ((!from.echo && sub.client === from) || !subjectMatches(sub.pattern, subject)) continue;
      if (sub.queueGroup === undefined) {
        this.enqueue(sub, subject, data, reply);
        matched++;
      } else {
        const members = groups.get(sub.queueGroup) ?? [];
        members.push(sub);
        groups.set(sub.queueGroup, members);
      }
    }
    for (const members of groups.values()) {
      this.enqueue(members[this.queueCursor++ % members.length] as MemorySub, subject, data, reply);
      matched++;
    }
    return matched;
  }

  /** @internal */
  addSub(sub: MemorySub): void {
    this.subs.add(sub);
  }

  /** @internal */
  removeClient(client: MemoryTransport): void {
    this.clients.delete(client);
    for (const sub of this.subs) if (sub.client === client) this.subs.delete(sub);
  }

  private enqueue(sub: MemorySub, subject: string, data: Uint8Array, reply: string | undefined): void {
    const shift = this.deliveries++ % 4;
    const copy = new Uint8Array(data.byteLength + shift).subarray(shift);
    copy.set(data);
    this.pending.push({ sub, message: reply === undefined ? { subject, data: copy } : { subject, data: copy, reply } });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.deliver());
    }
  }

  private deliver(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (const { sub, message } of batch) sub.queue.push(message);
  }
}

export class MemoryTransport implements Transport {
  readonly maxPayload: number;
  private readonly listeners = new Set<(status: TransportStatus) => void>();
  private readonly queues = new Set<Sink>();
  private isClosed = false;
  private nextInbox = 0;
  private readonly closedPromise: Promise<void | Error>;
  private resolveClosed!: (value: void | Error) => void;

  /** Use `MemoryBroker.connect`. */
  constructor(
    private readonly broker: MemoryBroker,
    readonly name: string,
    private readonly id: string,
    /** @internal */ readonly echo: boolean,
  ) {
    this.maxPayload = broker.maxPayload;
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  publish(subject: string, data: Uint8Array, options: PublishOptions = {}): void {
    this.route(subject, data, options.reply);
  }

  subscribe(subject: string, options: SubscribeOptions = {}): Subscription {
    if (this.isClosed) throw closedError(this.name);
    validateSubject(subject, true);
    const queue = new AsyncQueue<TransportMessage>();
    this.queues.add(queue);
    this.broker.addSub({ client: this, pattern: subject, queueGroup: options.queue, queue });
    return {
      subject,
      unsubscribe: () => {
        queue.end();
        this.queues.delete(queue);
      },
      [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    };
  }

  subscribeBorrowed(subject: string, handler: (message: TransportMessage) => void, options: SubscribeOptions = {}): BorrowedSubscription {
    if (this.isClosed) throw closedError(this.name);
    validateSubject(subject, true);
    let ended = false;
    const sink: Sink = {
      push: (message) => {
        if (ended) return;
        try {
          handler(message);
        } catch {
          // Like the NATS transports: a failing handler must not break delivery to the others.
        }
      },
      end: () => void (ended = true),
      get isEnded() {
        return ended;
      },
    };
    this.queues.add(sink);
    this.broker.addSub({ client: this, pattern: subject, queueGroup: options.queue, queue: sink });
    return {
      subject,
      unsubscribe: () => {
        sink.end();
        this.queues.delete(sink);
      },
    };
  }

  /** More clients of the same broker (the in-memory stand-in for extra NATS connections). */
  async openDataConnections(count: number, options: DataConnectionOptions): Promise<Transport[]> {
    if (this.isClosed) throw closedError(this.name);
    return Array.from({ length: count }, (_, i) => this.broker.connect(`${options.name}-d${i}`, { echo: this.echo }));
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.isClosed) throw closedError(this.name);
    const inbox = `_INBOX.${this.id}.${this.nextInbox++}`;
    const sub = this.subscribe(inbox);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (this.route(subject, data, inbox) === 0) {
        throw new TransportError('NO_RESPONDERS', `no responders on "${subject}": nothing is subscribed to it`);
      }
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TransportError('TIMEOUT', `request on "${subject}" got no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      const answer = sub[Symbol.asyncIterator]().next();
      const first = await Promise.race([answer, timeout]);
      if (first.done) throw closedError(this.name);
      return first.value.data;
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
    }
  }

  respond(message: TransportMessage, data: Uint8Array): void {
    if (!message.reply) throw new TransportError('BAD_SUBJECT', `message on "${message.subject}" has no reply subject to respond to`);
    this.publish(message.reply, data);
  }

  async flush(): Promise<void> {
    if (this.isClosed) throw closedError(this.name);
    // Everything published so far is in the broker's queue; one turn delivers it.
    await new Promise((resolve) => setImmediate(resolve));
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const queue of this.queues) queue.end();
    this.queues.clear();
    this.broker.removeClient(this);
    this.resolveClosed(undefined);
  }

  closed(): Promise<void | Error> {
    return this.closedPromise;
  }

  onStatus(listener: (status: TransportStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal */
  emitStatus(status: TransportStatus): void {
    for (const listener of this.listeners) listener(status);
  }

  private route(subject: string, data: Uint8Array, reply: string | undefined): number {
    if (this.isClosed) throw closedError(this.name);
    validateSubject(subject, false);
    if (data.byteLength > this.maxPayload) throw maxPayloadError(subject, data.byteLength, this.maxPayload);
    return this.broker.route(this, subject, data, reply);
  }
}
