/**
 * Test helper: a bare NATS protocol client on a TCP socket (no library), for what an attacker's
 * client would see: the server's `-ERR` lines (authorization and permission violations), and
 * every byte delivered to it (to search for secrets in what it may read).
 */
import { connect, type Socket } from 'node:net';

export interface RawNats {
  /** The server's INFO. */
  readonly info: Record<string, unknown>;
  /** `-ERR …` lines the server sent so far. */
  readonly errors: string[];
  /** Every byte received after the INFO line. */
  received(): Buffer;
  /** Messages received: subject and payload. */
  readonly messages: Array<{ subject: string; data: Buffer }>;
  sub(subject: string, sid: number): void;
  pub(subject: string, payload: Uint8Array, reply?: string): void;
  /** PING, and resolve on PONG; reject if the connection closes first. */
  ping(timeoutMs?: number): Promise<void>;
  readonly closed: boolean;
  close(): void;
}

/** Connects and logs in (`user`/`pass` when given); resolves after the first PONG, rejects with the server's error. */
export async function rawNats(url: string, login: { user?: string; pass?: string } = {}): Promise<RawNats> {
  const { hostname, port } = new URL(url.replace(/^tls:/, 'nats:'));
  const socket: Socket = connect(Number(port), hostname);
  let buffer = Buffer.alloc(0);
  let all: Buffer[] = [];
  let info: Record<string, unknown> | undefined;
  const errors: string[] = [];
  const messages: Array<{ subject: string; data: Buffer }> = [];
  let pongs = 0;
  let closed = false;
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  socket.on('close', () => {
    closed = true;
    wake();
  });
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    if (info) all.push(chunk);
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const end = buffer.indexOf('\r\n');
      if (end < 0) break;
      const line = buffer.subarray(0, end).toString('utf8');
      if (line.startsWith('MSG ')) {
        const parts = line.split(' ');
        const size = Number(parts[parts.length - 1]);
        if (buffer.length < end + 2 + size + 2) break;
        messages.push({ subject: parts[1] as string, data: Buffer.from(buffer.subarray(end + 2, end + 2 + size)) });
        buffer = buffer.subarray(end + 2 + size + 2);
        continue;
      }
      buffer = buffer.subarray(end + 2);
      if (line.startsWith('INFO ')) {
        info = JSON.parse(line.slice(5)) as Record<string, unknown>;
        all = [];
      } else if (line === 'PONG') pongs++;
      else if (line === 'PING') socket.write('PONG\r\n');
      else if (line.startsWith('-ERR')) errors.push(line);
    }
    wake();
  });
  const until = async (cond: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (closed) throw new Error(`connection closed before ${what}: ${errors.join(' | ') || 'no error line'}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms: ${errors.join(' | ')}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
  await until(() => info !== undefined, 5000, 'INFO');
  socket.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, name: 'raw-test', lang: 'raw', version: '0', protocol: 1, ...(login.user ? { user: login.user, pass: login.pass ?? '' } : {}) })}\r\n`);
  const client: RawNats = {
    info: info!,
    errors,
    messages,
    received: () => Buffer.concat(all),
    sub: (subject, sid) => void socket.write(`SUB ${subject} ${sid}\r\n`),
    pub: (subject, payload, reply) => {
      socket.write(`PUB ${subject}${reply ? ` ${reply}` : ''} ${payload.byteLength}\r\n`);
      socket.write(payload);
      socket.write('\r\n');
    },
    async ping(timeoutMs = 5000) {
      const want = pongs + 1;
      socket.write('PING\r\n');
      await until(() => pongs >= want, timeoutMs, 'PONG');
    },
    get closed() {
      return closed;
    },
    close: () => socket.destroy(),
  };
  try {
    await client.ping();
  } catch (err) {
    client.close();
    throw err;
  }
  return client;
}
