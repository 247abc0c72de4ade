/**
 * @module transport/nats-transport
 * `Transport` over a real nats-server (the `nats` v2 client). Reconnects forever with capped
 * exponential backoff, turns the client's status stream into `TransportStatus` events and its
 * `NatsError`s into `TransportError`s, and validates subjects and payload sizes before they reach
 * the socket (a malformed subject makes the server drop the connection). A disconnect never
 * throws out of this class: subscriptions are restored after the reconnect, but what anyone
 * published meanwhile is lost (the client drops its outbound buffer on each dial; at-most-once).
 */
import { connect, ErrorCode, type NatsConnection, type NatsError } from 'nats';
import { AsyncQueue } from './async-queue.js';
import { openWireConnections } from './nats-wire-transport.js';
import { splitServerUrls } from './nats-servers.js';
import { validateSubject } from './subject-syntax.js';
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
import { silentLogger, type Logger } from '../log.js';

export interface NatsTransportOptions {
  /** Client name shown by the server's monitoring (`/connz`). */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  /** TLS (PEM files): the CA to trust, and a client certificate + key for mutual TLS. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Deliver this client's own publishes to its own subscriptions (default true, like NATS). */
  echo?: boolean;
  /** Keep retrying when the server is not up yet instead of failing (default false). */
  waitOnFirstConnect?: boolean;
  /** First reconnect delay; doubles per failed attempt up to `maxReconnectDelayMs` (defaults 100 / 2000 ms). */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  log?: Logger;
}

export class NatsTransport implements Transport {
  private readonly listeners = new Set<(status: TransportStatus) => void>();
  private closing = false;
  /** Rejects pending requests at close (nats.js would leave them to their own timeout). */
  private readonly pendingRequests = new Set<(err: Error) => void>();

  private constructor(
    /** The underlying client, for JetStream (`NatsKeyValue.open`). */
    readonly connection: NatsConnection,
    readonly name: string,
    private readonly log: Logger,
    /** The servers and options it was given (data connections reuse them). */
    private readonly servers: string[],
    private readonly options: NatsTransportOptions,
  ) {}

  /** Connects to `url` (or a list of URLs); rejects with `TransportError('CONNECT_FAILED')` saying what to check. */
  static async connect(url: string | string[], options: NatsTransportOptions): Promise<NatsTransport> {
    const log = (options.log ?? silentLogger).child({ transport: options.name });
    const base = options.reconnectDelayMs ?? 100;
    const cap = options.maxReconnectDelayMs ?? 2000;
    let attempts = 0;
    let nc: NatsConnection;
    const servers = splitServerUrls(url);
    try {
      nc = await connect({
        servers,
        name: options.name,
        ...(options.user !== undefined ? { user: options.user, pass: options.pass ?? '' } : {}),
        ...(options.token !== undefined ? { token: options.token } : {}),
        ...(options.tls ? { tls: options.tls } : {}),
        noEcho: options.echo === false,
        maxReconnectAttempts: -1,
        waitOnFirstConnect: options.waitOnFirstConnect ?? false,
        // Capped exponential backoff with jitter, reset after every successful reconnect.
        reconnectDelayHandler: () => Math.min(cap, base * 2 ** attempts++) * (0.75 + 0.5 * Math.random()),
      });
    } catch (err) {
      throw new TransportError('CONNECT_FAILED', connectFailureMessage(url, err), { cause: err });
    }
    const transport = new NatsTransport(nc, options.name, log, servers, options);
    transport.watchStatus(() => (attempts = 0));
    return transport;
  }

  get maxPayload(): number {
    return this.connection.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** The server URLs this transport was given (one per server; a comma-separated URL is split). */
  get serverUrls(): readonly string[] {
    return this.servers;
  }

  publish(subject: string, data: Uint8Array, options: PublishOptions = {}): void {
    this.check(subject, data);
    try {
      this.connection.publish(subject, data, options.reply ? { reply: options.reply } : undefined);
    } catch (err) {
      throw this.translate(err, subject);
    }
  }

  subscribe(subject: string, options: SubscribeOptions = {}): Subscription {
    if (this.connection.isClosed()) throw closedError(this.name);
    validateSubject(subject, true);
    const queue = new AsyncQueue<TransportMessage>();
    const sub = this.connection.subscribe(subject, {
      ...(options.queue !== undefined ? { queue: options.queue } : {}),
      callback: (err, msg) => {
        if (err) {
          this.log.warn('subscription error', { subject, error: err.message });
          return;
        }
        queue.push(msg.reply ? { subject: msg.subject, data: msg.data, reply: msg.reply } : { subject: msg.subject, data: msg.data });
      },
    });
    void sub.closed.then(() => queue.end());
    return {
      subject,
      unsubscribe: () => {
        if (!sub.isClosed()) sub.unsubscribe();
        queue.end();
      },
      [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    };
  }

  subscribeBorrowed(subject: string, handler: (message: TransportMessage) => void, options: SubscribeOptions = {}): BorrowedSubscription {
    if (this.connection.isClosed()) throw closedError(this.name);
    validateSubject(subject, true);
    const sub = this.connection.subscribe(subject, {
      ...(options.queue !== undefined ? { queue: options.queue } : {}),
      callback: (err, msg) => {
        if (err) return void this.log.warn('subscription error', { subject, error: err.message });
        try {
          handler(msg.reply ? { subject: msg.subject, data: msg.data, reply: msg.reply } : { subject: msg.subject, data: msg.data });
        } catch (error) {
          this.log.error('message handler failed', { subject, error: String((error as Error).stack ?? error) });
        }
      },
    });
    return { subject, unsubscribe: () => void (sub.isClosed() || sub.unsubscribe()) };
  }

  /** Wire-protocol connections (`NatsWireTransport`) to the same servers, with the same credentials and TLS. */
  openDataConnections(count: number, options: DataConnectionOptions): Promise<Transport[]> {
    if (this.connection.isClosed()) return Promise.reject(closedError(this.name));
    const { user, pass, token, tls, echo, reconnectDelayMs, maxReconnectDelayMs } = this.options;
    // The configured order (the same on every rank), so `spread` puts ranks on different servers.
    return openWireConnections(this.servers, {
      name: options.name, log: this.log,
      ...(user !== undefined ? { user, pass: pass ?? '' } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(tls ? { tls } : {}),
      ...(echo !== undefined ? { echo } : {}),
      ...(reconnectDelayMs !== undefined ? { reconnectDelayMs } : {}),
      ...(maxReconnectDelayMs !== undefined ? { maxReconnectDelayMs } : {}),
    }, count, options);
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.check(subject, data);
    let cancel!: (err: Error) => void;
    const cancelled = new Promise<never>((_, reject) => (cancel = reject));
    this.pendingRequests.add(cancel);
    try {
      const answer = this.connection.request(subject, data, { timeout: timeoutMs });
      answer.catch(() => undefined); // may settle after we gave up on it
      const msg = await Promise.race([answer, cancelled]);
      return msg.data;
    } catch (err) {
      throw this.translate(err, subject, timeoutMs);
    } finally {
      this.pendingRequests.delete(cancel);
    }
  }

  respond(message: TransportMessage, data: Uint8Array): void {
    if (!message.reply) throw new TransportError('BAD_SUBJECT', `message on "${message.subject}" has no reply subject to respond to`);
    this.publish(message.reply, data);
  }

  async flush(): Promise<void> {
    if (this.connection.isClosed()) throw closedError(this.name);
    try {
      await this.connection.flush();
    } catch (err) {
      throw this.translate(err, '(flush)');
    }
  }

  async close(): Promise<void> {
    if (this.closing) {
      await this.connection.closed();
      return;
    }
    this.closing = true;
    for (const cancel of this.pendingRequests) cancel(closedError(this.name));
    if (!this.connection.isClosed()) {
      // nats.js close() drops its outbound buffer; flush first, but never wait on a dead server.
      await Promise.race([this.connection.flush().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      await this.connection.close();
    }
  }

  closed(): Promise<void | Error> {
    return this.connection.closed();
  }

  onStatus(listener: (status: TransportStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private check(subject: string, data: Uint8Array): void {
    if (this.connection.isClosed()) throw closedError(this.name);
    validateSubject(subject, false);
    if (data.byteLength > this.maxPayload) throw maxPayloadError(subject, data.byteLength, this.maxPayload);
  }

  private watchStatus(onReconnect: () => void): void {
    void (async () => {
      for await (const s of this.connection.status()) {
        const detail = typeof s.data === 'string' || typeof s.data === 'number' ? String(s.data) : undefined;
        let status: TransportStatus | undefined;
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'reconnecting' || s.type === 'error') {
          status = detail === undefined ? { type: s.type } : { type: s.type, detail };
        }
        if (!status) continue;
        if (status.type === 'reconnect') onReconnect();
        this.log[status.type === 'reconnecting' ? 'debug' : 'info']('nats connection status', { status: status.type, detail });
        for (const listener of this.listeners) listener(status);
      }
    })().catch((err: unknown) => this.log.warn('status stream ended', { error: String(err) }));
  }

  private translate(err: unknown, subject: string, timeoutMs?: number): Error {
    const code = (err as Partial<NatsError>).code;
    if (code === ErrorCode.NoResponders) return new TransportError('NO_RESPONDERS', `no responders on "${subject}": nothing is subscribed to it`, { cause: err });
    if (code === ErrorCode.Timeout) return new TransportError('TIMEOUT', `request on "${subject}" got no answer within ${timeoutMs} ms`, { cause: err });
    if (code === ErrorCode.ConnectionClosed || code === ErrorCode.ConnectionDraining) return closedError(this.name);
    if (code === ErrorCode.Disconnect) return new TransportError('DISCONNECTED', `connection "${this.name}" dropped before the server confirmed; it is reconnecting`, { cause: err });
    if (code === ErrorCode.MaxPayloadExceeded) return maxPayloadError(subject, -1, this.maxPayload);
    return err instanceof Error ? err : new Error(String(err));
  }
}

function connectFailureMessage(url: string | string[], err: unknown): string {
  const code = (err as Partial<NatsError>).code;
  const where = Array.isArray(url) ? url.join(', ') : url;
  if (code === ErrorCode.AuthorizationViolation || code === ErrorCode.BadAuthentication) {
    return `nats-server at ${where} refused the credentials: check the user/password or token`;
  }
  return `cannot connect to nats-server at ${where} (${(err as Error).message}): start one (the local launcher does) or fix the URL`;
}
