/**
 * @module transport/nats-wire-parser
 * The server → client half of the NATS wire protocol (`INFO`, `MSG`, `HMSG`, `PING`, `PONG`,
 * `+OK`, `-ERR`), parsed in place out of a receive arena that the socket reads into.
 *
 * Why an arena: nats.js assembles every message payload in a buffer that grows by doubling
 * (about three copies of each byte, plus garbage), which made the client's receive path cost
 * more than the server's forwarding. Here the socket reads straight into one large buffer, each
 * read right after the previous one, so a message that spans several reads is still contiguous
 * and is handed out as a view — no copy at all. Views are *borrowed*: they are valid only while
 * the message handler runs (the next read may overwrite them); `NatsWireTransport` copies for
 * consumers that keep messages. When the free tail gets short, the unparsed remainder (a partial
 * message, at most a quarter of the arena) is moved to the front — the only copy. A payload
 * larger than a quarter of the arena is assembled in its own buffer instead.
 */
import { TransportError } from './transport.js';

/** What the parser reports; `data` of `msg` is borrowed (valid until the callback returns). */
export interface WireEvents {
  msg(sid: number, subject: string, reply: string | undefined, data: Uint8Array, status: number | undefined): void;
  info(info: ServerInfo): void;
  ping(): void;
  pong(): void;
  err(message: string): void;
}

/** The fields of a server's `INFO` this client uses. */
export interface ServerInfo {
  server_id?: string;
  max_payload?: number;
  headers?: boolean;
  tls_required?: boolean;
  tls_available?: boolean;
  auth_required?: boolean;
  connect_urls?: string[];
  [key: string]: unknown;
}

/** Reads (socket `onread`) smaller than this trigger a compaction first. */
const MIN_READ = 64 * 1024;
/** Longest control line accepted (an `INFO` with many cluster URLs stays far below). */
const MAX_LINE = 256 * 1024;
const NL = 0x0a;

export class NatsWireParser {
  private arena: Buffer;
  private readPos = 0;
  private writePos = 0;
  /** A payload being read into its own buffer (too large for the arena). */
  private big: { sid: number; subject: string; reply: string | undefined; hdrBytes: number; data: Uint8Array; filled: number } | undefined;
  /** CR LF still to skip after a payload. */
  private skip = 0;

  constructor(
    private readonly events: WireEvents,
    arenaBytes: number,
  ) {
    this.arena = Buffer.allocUnsafe(Math.max(4 * MIN_READ, arenaBytes));
  }

  /** Forget everything buffered (a new connection starts a new stream). */
  reset(): void {
    this.readPos = 0;
    this.writePos = 0;
    this.big = undefined;
    this.skip = 0;
  }

  /** The buffer the next socket read should fill (the `onread.buffer` generator). */
  nextReadBuffer(): Buffer {
    if (this.arena.length - this.writePos < MIN_READ) this.compact();
    return this.arena.subarray(this.writePos);
  }

  /** `n` bytes were read into the buffer last returned by `nextReadBuffer`; parses them. */
  wrote(n: number): void {
    this.writePos += n;
    this.parse();
  }

  /** Copies `chunk` in (for sockets that cannot read into a given buffer, e.g. TLS) and parses. */
  feed(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      const target = this.nextReadBuffer();
      const n = Math.min(target.length, chunk.length - offset);
      target.set(chunk.subarray(offset, offset + n));
      offset += n;
      this.wrote(n);
    }
  }

  /** Moves the unparsed tail to the front (everything before readPos was handed out and is dead). */
  private compact(): void {
    const pending = this.writePos - this.readPos;
    if (pending > 0 && this.readPos > 0) this.arena.copy(this.arena, 0, this.readPos, this.writePos);
    this.readPos = 0;
    this.writePos = pending;
    if (this.arena.length - this.writePos < MIN_READ) {
      // Only a control line longer than MAX_LINE could get here; the parser rejects those first.
      const grown = Buffer.allocUnsafe(2 * this.arena.length);
      this.arena.copy(grown, 0, 0, this.writePos);
      this.arena = grown;
    }
  }

  private parse(): void {
    const buf = this.arena;
    while (this.readPos < this.writePos) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.writePos - this.readPos);
        this.skip -= n;
        this.readPos += n;
        continue;
      }
      if (this.big) {
        const big = this.big;
        const n = Math.min(big.data.length - big.filled, this.writePos - this.readPos);
        big.data.set(buf.subarray(this.readPos, this.readPos + n), big.filled);
        big.filled += n;
        this.readPos += n;
        if (big.filled < big.data.length) return;
        this.big = undefined;
        this.skip = 2;
        this.deliver(big.sid, big.subject, big.reply, big.data, big.hdrBytes);
        continue;
      }
      const nl = buf.indexOf(NL, this.readPos);
      if (nl < 0 || nl >= this.writePos) {
        if (this.writePos - this.readPos > MAX_LINE) throw new TransportError('DISCONNECTED', `NATS server sent a control line longer than ${MAX_LINE} bytes`);
        return;
      }
      const end = nl > this.readPos && buf[nl - 1] === 0x0d ? nl - 1 : nl;
      const line = buf.toString('utf8', this.readPos, end);
      const lineEnd = nl + 1;
      const op = line.charCodeAt(0) | 0x20; // lower case
      const isMsg = op === 0x6d /* m */ && /^msg /i.test(line);
      const isHmsg = !isMsg && op === 0x68 /* h */ && /^hmsg /i.test(line);
      if (isMsg || isHmsg) {
        if (!this.message(line, isHmsg, lineEnd)) return;
        continue;
      }
      this.readPos = lineEnd;
      this.control(line);
    }
  }

  /** A MSG/HMSG line at readPos; false when its payload has not fully arrived (nothing consumed). */
  private message(line: string, withHeaders: boolean, payloadStart: number): boolean {
    const parts = line.split(' ');
    // MSG subject sid [reply] size | HMSG subject sid [reply] hdrSize totalSize
    const fixed = withHeaders ? 5 : 4;
    if (parts.length !== fixed && parts.length !== fixed + 1) throw new TransportError('DISCONNECTED', `NATS server sent a malformed line "${line.slice(0, 200)}"`);
    const subject = parts[1] as string;
    const sid = Number(parts[2]);
    const reply = parts.length === fixed + 1 ? parts[3] : undefined;
    const size = Number(parts[parts.length - 1]);
    const hdrBytes = withHeaders ? Number(parts[parts.length - 2]) : 0;
    const available = this.writePos - payloadStart;
    if (available >= size + 2) {
      this.readPos = payloadStart + size + 2;
      // A plain Uint8Array view, not a Buffer: Buffer#slice would be a view too, and consumers copy with slice().
      this.deliver(sid, subject, reply, new Uint8Array(this.arena.buffer, this.arena.byteOffset + payloadStart, size), hdrBytes);
      return true;
    }
    if (size > this.arena.length / 4) {
      const data = new Uint8Array(size);
      const n = Math.min(available, size);
      data.set(this.arena.subarray(payloadStart, payloadStart + n));
      this.readPos = payloadStart + n;
      this.big = { sid, subject, reply, hdrBytes, data, filled: n };
      if (n === size) {
        this.big = undefined;
        this.skip = 2;
        this.deliver(sid, subject, reply, data, hdrBytes);
      }
      return true;
    }
    return false; // wait for the rest (it fits: the arena holds at least four such payloads)
  }

  private deliver(sid: number, subject: string, reply: string | undefined, payload: Uint8Array, hdrBytes: number): void {
    if (hdrBytes === 0) return this.events.msg(sid, subject, reply, payload, undefined);
    // "NATS/1.0 503\r\n..." — a status code (503 = no responders) follows the version.
    const head = Buffer.from(payload.buffer, payload.byteOffset, Math.min(hdrBytes, 64)).toString('latin1');
    const match = /^NATS\/1\.0 (\d{3})/.exec(head);
    this.events.msg(sid, subject, reply, payload.subarray(hdrBytes), match ? Number(match[1]) : undefined);
  }

  private control(line: string): void {
    const upper = line.slice(0, 5).toUpperCase();
    if (upper.startsWith('PING')) return this.events.ping();
    if (upper.startsWith('PONG')) return this.events.pong();
    if (upper.startsWith('+OK')) return;
    if (upper.startsWith('-ERR')) return this.events.err(line.slice(4).trim().replace(/^'|'$/g, ''));
    if (upper.startsWith('INFO')) {
      let info: ServerInfo;
      try {
        info = JSON.parse(line.slice(5)) as ServerInfo;
      } catch {
        throw new TransportError('DISCONNECTED', `NATS server sent an INFO that is not JSON: "${line.slice(0, 200)}"`);
      }
      return this.events.info(info);
    }
    if (line.length > 0) throw new TransportError('DISCONNECTED', `NATS server sent an unknown line "${line.slice(0, 200)}"`);
  }
}
