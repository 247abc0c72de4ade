/**
 * @module transport/nats-wire-transport
 * `Transport` that speaks the NATS client protocol on a socket itself: the collectives' data
 * path. It exists for speed, measured in docs/collectives.md: nats.js packs every publish into a
 * fresh buffer (header + payload + CRLF copied together) and assembles every received payload in
 * a buffer that grows by doubling; at 1 MiB messages that client work cost more CPU per byte
 * than the nats-server forwarding it. Here a publish is a gather-write of the caller's bytes
 * (`writev`, no copy; all publishes of one event-loop turn go out in one system call), and the
 * socket reads into a receive arena whose messages `subscribeBorrowed` hands out as views.
 *
 * Semantics match `NatsTransport` (one contract suite): core NATS at-most-once; reconnects
 * forever over the server list (capped exponential backoff with jitter; after losing a server
 * it tries the next one first, and servers a cluster announces are added), restoring
 * subscriptions; what is published while disconnected is dropped. A keep-alive PING every
 * `pingIntervalMs` detects a dead peer that never closed the socket. TLS (PEM files) is used
 * when configured; credentials are user/password or a token.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { silentLogger, type Logger } from '../log.js';
import type { NatsTlsFiles } from './nats-credentials.js';
import { NatsWireParser, type ServerInfo } from './nats-wire-parser.js';
import { ServerList, type ServerAddress } from './nats-servers.js';
import { AsyncQueue } from './async-queue.js';
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

export interface NatsWireOptions {
  /** Client name shown by the server's monitoring (`/connz`). */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  tls?: NatsTlsFiles;
  /** Deliver this client's own publishes to its own subscriptions (default true, like NATS). */
  echo?: boolean;
  /** Keep retrying when no server is up yet instead of failing (default false). */
  waitOnFirstConnect?: boolean;
  /** Shuffle the server list (default true; false keeps the given order, first = preferred). */
  randomize?: boolean;
  /** Index of the server to try first (after shuffling, if any). */
  startAt?: number;
  /** First reconnect delay; doubles per failed attempt up to `maxReconnectDelayMs` (defaults 100 / 2000 ms). */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** Keep-alive period; two unanswered PINGs count as a dead connection (default 5000 ms). */
  pingIntervalMs?: number;
  /** Receive arena size (default 4 MiB; a payload above a quarter of it that spans reads is assembled in its own buffer). */
  arenaBytes?: number;
  log?: Logger;
}

interface WireSub {
  sid: number;
  subject: string;
  queue: string | undefined;
  deliver(subject: string, reply: string | undefined, data: Uint8Array, status: number | undefined): void;
  end(): void;
}

interface Handshake {
  info(info: ServerInfo): void;
  pong(): void;
  err(message: string): void;
}

const CRLF = Buffer.from('\r\n');
const PING = Buffer.from('PING\r\n');
const PONG = Buffer.from('PONG\r\n');
const CONNECT_TIMEOUT_MS = 5000;

export class NatsWireTransport implements Transport {
  private readonly log: Logger;
  private readonly servers: ServerList;
  private readonly parser: NatsWireParser;
  private readonly listeners = new Set<(status: TransportStatus) => void>();
  private readonly subs = new Map<number, WireSub>();
  private readonly pongs: Array<{ resolve: () => void; reject: (err: Error) => void; keepAlive: boolean }> = [];
  private readonly requests = new Map<string, { resolve: (data: Uint8Array) => void; reject: (err: Error) => void; subject: string }>();
  private readonly inbox = `_INBOX.${randomBytes(10).toString('hex')}`;
  private inboxSub: WireSub | undefined;
  private nextSid = 1;
  private nextRequest = 0;
  private socket: Socket | undefined;
  private connected = false;
  private closing = false;
  private corked = false;
  private handshake: Handshake | undefined;
  private serverInfo: ServerInfo = {};
  private attemptSocket: Socket | undefined;
  private current: ServerAddress | undefined;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private resolveClosed!: (value: void | Error) => void;
  private readonly closedPromise = new Promise<void | Error>((resolve) => (this.resolveClosed = resolve));

  private constructor(
    urls: string | readonly string[],
    private readonly options: NatsWireOptions,
  ) {
    this.log = (options.log ?? silentLogger).child({ transport: options.name });
    this.servers = new ServerList(urls, { randomize: options.randomize ?? true, start: options.startAt ?? 0 });
    this.parser = new NatsWireParser({
      msg: (sid, subject, reply, data, status) => this.subs.get(sid)?.deliver(subject, reply, data, status),
      info: (info) => this.onInfo(info),
      ping: () => this.write(PONG), // the server's keep-alive
      pong: () => this.onPong(),
      err: (message) => this.onServerError(message),
    }, options.arenaBytes ?? 4 * 1024 * 1024);
  }

  /** Connects to one of `urls` (a list, or comma-separated); rejects `CONNECT_FAILED` saying what to check. */
  static async connect(urls: string | readonly string[], options: NatsWireOptions): Promise<NatsWireTransport> {
    const transport = new NatsWireTransport(urls, options);
    await transport.firstConnect();
    return transport;
  }

  get name(): string {
    return this.options.name;
  }

  get maxPayload(): number {
    return this.serverInfo.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** The server this client is connected to now (`nats://host:port`), if any. */
  get connectedUrl(): string | undefined {
    return this.connected ? this.current?.url : undefined;
  }

  publish(subject: string, data: Uint8Array, options: PublishOptions = {}): void {
    this.check(subject, data);
    if (options.reply !== undefined) validateSubject(options.reply, false);
    if (!this.connected) return; // lost, as every publish during a disconnect (at-most-once)
    const head = options.reply ? `PUB ${subject} ${options.reply} ${data.byteLength}\r\n` : `PUB ${subject} ${data.byteLength}\r\n`;
    this.write(Buffer.from(head), data, CRLF);
  }

  subscribe(subject: string, options: SubscribeOptions = {}): Subscription {
    const queue = new AsyncQueue<TransportMessage>();
    const sub = this.addSub(subject, options.queue, (s, reply, data) => {
      // Borrowed arena bytes: a subscription that is iterated later needs its own copy.
      const copy = Uint8Array.prototype.slice.call(data);
      queue.push(reply ? { subject: s, data: copy, reply } : { subject: s, data: copy });
    }, () => queue.end());
    return {
      subject,
      unsubscribe: () => this.removeSub(sub),
      [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    };
  }

  subscribeBorrowed(subject: string, handler: (message: TransportMessage) => void, options: SubscribeOptions = {}): BorrowedSubscription {
    const sub = this.addSub(subject, options.queue, (s, reply, data) => {
      try {
        handler(reply ? { subject: s, data, reply } : { subject: s, data });
      } catch (err) {
        this.log.error('message handler failed', { subject: s, error: String((err as Error).stack ?? err) });
      }
    }, () => undefined);
    return { subject, unsubscribe: () => this.removeSub(sub) };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.check(subject, data);
    this.inboxSub ??= this.addSub(`${this.inbox}.*`, undefined, (s, _reply, payload, status) => this.onReply(s, payload, status), () => undefined);
    const token = String(this.nextRequest++);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<Uint8Array>((resolve, reject) => {
        this.requests.set(token, { resolve, reject, subject });
        timer = setTimeout(() => reject(new TransportError('TIMEOUT', `request on "${subject}" got no answer within ${timeoutMs} ms`)), timeoutMs);
        this.publish(subject, data, { reply: `${this.inbox}.${token}` });
      });
    } finally {
      clearTimeout(timer);
      this.requests.delete(token);
    }
  }

  respond(message: TransportMessage, data: Uint8Array): void {
    if (!message.reply) throw new TransportError('BAD_SUBJECT', `message on "${message.subject}" has no reply subject to respond to`);
    this.publish(message.reply, data);
  }

  flush(): Promise<void> {
    if (this.closing) return Promise.reject(closedError(this.name));
    if (!this.connected) return Promise.reject(this.disconnectedError());
    return this.sendPing(false);
  }

  async openDataConnections(count: number, options: DataConnectionOptions): Promise<Transport[]> {
    return openWireConnections(this.servers.urls(), this.options, count, options);
  }

  async close(): Promise<void> {
    if (this.closing) {
      await this.closedPromise;
      return;
    }
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    this.attemptSocket?.destroy();
    for (const { reject } of this.requests.values()) reject(closedError(this.name));
    for (const sub of [...this.subs.values()]) sub.end();
    this.subs.clear();
    const socket = this.socket;
    if (socket && this.connected) {
      // Make sure what was published reached the server, but never wait on a dead one.
      await Promise.race([this.sendPing(false).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    }
    this.connected = false;
    this.rejectPongs(closedError(this.name));
    if (socket && !socket.destroyed) {
      const gone = new Promise((resolve) => socket.once('close', resolve));
      socket.end();
      const timer = setTimeout(() => socket.destroy(), 2000);
      await gone;
      clearTimeout(timer);
    }
    this.resolveClosed(undefined);
  }

  closed(): Promise<void | Error> {
    return this.closedPromise;
  }

  onStatus(listener: (status: TransportStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- parser events ----

  private onInfo(info: ServerInfo): void {
    this.serverInfo = info;
    this.servers.learn(info.connect_urls);
    this.handshake?.info(info);
  }

  private onPong(): void {
    if (this.handshake) return this.handshake.pong();
    this.pongs.shift()?.resolve();
  }

  private onServerError(message: string): void {
    if (this.handshake) return this.handshake.err(message);
    this.log.warn('nats server error', { error: message });
    this.emit({ type: 'error', detail: message });
  }

  private sendPing(keepAlive: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pongs.push({ resolve, reject, keepAlive });
      this.write(PING);
    });
  }

  // ---- connection lifecycle ----

  private async firstConnect(): Promise<void> {
    const failures: string[] = [];
    for (;;) {
      for (let i = 0; i < this.servers.size; i++) {
        const server = this.servers.pick();
        try {
          await this.attempt(server);
          return;
        } catch (err) {
          if (err instanceof TransportError && /refused the credentials|requires TLS/.test(err.message)) throw err;
          failures.push(`${server.url}: ${(err as Error).message}`);
        }
      }
      if (!this.options.waitOnFirstConnect) {
        throw new TransportError('CONNECT_FAILED', `cannot connect to nats-server at ${this.servers.urls().join(', ')} (${failures.slice(-3).join('; ')}): start one (the local launcher does) or fix the URL`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.backoff()));
    }
  }

  /** One connection attempt: TCP (+TLS), INFO, CONNECT + subscriptions, PING → PONG. */
  private attempt(server: ServerAddress): Promise<void> {
    this.parser.reset();
    this.serverInfo = {};
    const tls = this.options.tls;
    const socket: Socket = netConnect({
      host: server.host,
      port: server.port,
      // Read straight into the parser's arena (not possible under TLS, which decrypts into its own buffers).
      ...(tls ? {} : { onread: { buffer: () => this.parser.nextReadBuffer(), callback: (n: number): boolean => this.onBytes(socket, n) } }),
    });
    socket.setNoDelay(true);
    this.attemptSocket = socket;
    let active: Socket = socket;
    if (tls) socket.on('data', (chunk: Buffer) => this.onChunk(socket, chunk));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no NATS handshake within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (this.attemptSocket === socket) {
          this.handshake = undefined;
          this.attemptSocket = undefined;
        }
        active.destroy();
        reject(err);
      };
      const onEarlyClose = () => fail(new Error('connection closed during the handshake'));
      socket.once('error', (err) => fail(err));
      socket.once('close', onEarlyClose);
      this.handshake = {
        info: (info) => {
          if (info.tls_required && !tls) return fail(new TransportError('CONNECT_FAILED', `nats-server at ${server.url} requires TLS: set control.nats_tls_ca (INSTRUCTUE_NATS_TLS_CA) to the CA that signed its certificate`));
          if (!tls) return this.sendConnect(socket, server);
          socket.removeAllListeners('data');
          const secure = tlsConnect({
            socket,
            servername: server.host,
            ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
            ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
            ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
          });
          active = secure;
          secure.on('data', (chunk: Buffer) => this.onChunk(secure, chunk));
          secure.once('error', (err) => fail(err));
          secure.once('secureConnect', () => this.sendConnect(secure, server));
        },
        pong: () => {
          if (this.closing) return fail(closedError(this.name));
          clearTimeout(timer);
          this.handshake = undefined;
          this.attemptSocket = undefined;
          socket.removeListener('close', onEarlyClose);
          active.on('error', (err) => this.log.debug('socket error', { error: err.message }));
          active.once('close', () => this.onSocketClosed(active));
          this.socket = active;
          this.current = server;
          this.connected = true;
          this.attempts = 0;
          // Subscriptions (all of them after a reconnect, and any made during the handshake).
          const lines = [...this.subs.values()].map(subLine).join('');
          if (lines) this.write(Buffer.from(lines));
          this.startKeepAlive();
          resolve();
        },
        err: (message) => {
          const auth = /authorization|authentication/i.test(message);
          fail(new TransportError('CONNECT_FAILED', auth ? `nats-server at ${server.url} refused the credentials (${message}): check the user/password or token` : `nats-server at ${server.url}: ${message}`));
        },
      };
    });
  }

  private sendConnect(socket: Socket, server: ServerAddress): void {
    const { user, pass, token, echo } = this.options;
    const connect = {
      verbose: false, pedantic: false, tls_required: Boolean(this.options.tls), name: this.options.name, lang: 'instructue-wire', version: '1',
      protocol: 1, echo: echo ?? true, headers: true, no_responders: true,
      ...(user !== undefined ? { user, pass: pass ?? '' } : {}),
      ...(token !== undefined ? { auth_token: token } : {}),
    };
    socket.write(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
    this.log.debug('nats handshake', { server: server.url });
  }

  /** Bytes read into the arena (true = keep reading). */
  private onBytes(socket: Socket, n: number): boolean {
    if (socket !== this.socket && !this.handshake) return true;
    try {
      this.parser.wrote(n);
    } catch (err) {
      this.protocolError(socket, err as Error);
    }
    return true;
  }

  private onChunk(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket && !this.handshake) return;
    try {
      this.parser.feed(chunk);
    } catch (err) {
      this.protocolError(socket, err as Error);
    }
  }

  private protocolError(socket: Socket, err: Error): void {
    this.log.warn('nats protocol error; reconnecting', { error: err.message });
    socket.destroy();
  }

  private onSocketClosed(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.connected = false;
    this.corked = false;
    clearInterval(this.pingTimer);
    if (this.closing) return;
    const lost = this.current?.url;
    this.rejectPongs(this.disconnectedError());
    this.emit(lost === undefined ? { type: 'disconnect' } : { type: 'disconnect', detail: lost });
    this.scheduleReconnect(this.servers.size > 1 ? 0 : this.backoff());
  }

  private scheduleReconnect(delayMs: number): void {
    this.reconnectTimer = setTimeout(() => {
      if (this.closing) return;
      const server = this.servers.pick();
      this.emit({ type: 'reconnecting', detail: server.url });
      this.attempt(server).then(
        () => {
          this.log.info('nats reconnected', { server: server.url });
          this.emit({ type: 'reconnect', detail: server.url });
        },
        (err: Error) => {
          if (this.closing) return;
          this.log.debug('nats reconnect attempt failed', { server: server.url, error: err.message });
          this.scheduleReconnect(this.backoff());
        },
      );
    }, delayMs);
  }

  private backoff(): number {
    const base = this.options.reconnectDelayMs ?? 100;
    const cap = this.options.maxReconnectDelayMs ?? 2000;
    return Math.min(cap, base * 2 ** this.attempts++) * (0.75 + 0.5 * Math.random());
  }

  private startKeepAlive(): void {
    const every = this.options.pingIntervalMs ?? 5000;
    this.pingTimer = setInterval(() => {
      if (!this.connected) return;
      if (this.pongs.filter((p) => p.keepAlive).length >= 2) {
        this.log.warn('nats server stopped answering PINGs; reconnecting', { server: this.current?.url });
        this.socket?.destroy();
        return;
      }
      this.sendPing(true).catch(() => undefined);
    }, every);
    this.pingTimer.unref();
  }

  // ---- helpers ----

  private write(...parts: Uint8Array[]): void {
    const socket = this.socket;
    if (!socket || !this.connected) return;
    // One system call per event-loop turn: cork now, uncork after everything of this turn is queued.
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    for (const part of parts) socket.write(part);
  }

  private addSub(subject: string, queue: string | undefined, deliver: WireSub['deliver'], end: () => void): WireSub {
    if (this.closing) throw closedError(this.name);
    validateSubject(subject, true);
    if (queue !== undefined && !/^[^\s]+$/.test(queue)) throw new TransportError('BAD_SUBJECT', `invalid queue group "${queue}"`);
    const sub: WireSub = { sid: this.nextSid++, subject, queue, deliver, end };
    this.subs.set(sub.sid, sub);
    if (this.connected) this.write(Buffer.from(subLine(sub)));
    return sub;
  }

  private removeSub(sub: WireSub): void {
    if (!this.subs.delete(sub.sid)) return;
    sub.end();
    if (this.connected) this.write(Buffer.from(`UNSUB ${sub.sid}\r\n`));
  }

  private onReply(subject: string, data: Uint8Array, status: number | undefined): void {
    const token = subject.slice(this.inbox.length + 1);
    const pending = this.requests.get(token);
    if (!pending) return;
    if (status === 503) pending.reject(new TransportError('NO_RESPONDERS', `no responders on "${pending.subject}": nothing is subscribed to it`));
    else pending.resolve(Uint8Array.prototype.slice.call(data));
  }

  private check(subject: string, data: Uint8Array): void {
    if (this.closing) throw closedError(this.name);
    validateSubject(subject, false);
    if (data.byteLength > this.maxPayload) throw maxPayloadError(subject, data.byteLength, this.maxPayload);
  }

  private rejectPongs(err: Error): void {
    for (const p of this.pongs.splice(0)) p.reject(err);
  }

  private disconnectedError(): TransportError {
    return new TransportError('DISCONNECTED', `connection "${this.name}" dropped before the server confirmed; it is reconnecting`);
  }

  private emit(status: TransportStatus): void {
    for (const listener of this.listeners) listener(status);
  }
}

function subLine(sub: WireSub): string {
  return sub.queue === undefined ? `SUB ${sub.subject} ${sub.sid}\r\n` : `SUB ${sub.subject} ${sub.queue} ${sub.sid}\r\n`;
}

/**
 * `count` wire connections to `urls` for bulk data; connection i starts at server
 * (spread + i) mod servers (in the given order), so stripes and ranks spread over a cluster.
 */
export async function openWireConnections(urls: readonly string[], base: NatsWireOptions, count: number, options: DataConnectionOptions): Promise<NatsWireTransport[]> {
  const opened: NatsWireTransport[] = [];
  try {
    for (let i = 0; i < count; i++) {
      opened.push(await NatsWireTransport.connect(urls, { ...base, name: `${options.name}-d${i}`, randomize: false, startAt: options.spread + i, waitOnFirstConnect: false }));
    }
    return opened;
  } catch (err) {
    await Promise.all(opened.map((t) => t.close()));
    throw err;
  }
}
