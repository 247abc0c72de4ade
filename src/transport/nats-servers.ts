/**
 * @module transport/nats-servers
 * The server list of a NATS client: `dist.nats_url` may name several servers of a cluster
 * (`nats://a:4222,nats://b:4222`, or a list), a server announces the others it knows in its
 * `INFO` (`connect_urls`), and a client that loses its server moves on to the next one. Both
 * transports and the launcher read URLs through here, so a comma-separated list means the same
 * everywhere.
 */
import { ConfigError } from '../errors.js';

export interface ServerAddress {
  host: string;
  port: number;
  /** `nats://host:port` (or `tls://…` when given so). */
  url: string;
}

const DEFAULT_PORT = 4222;

/** Splits `nats://a:1,nats://b:2` (or a list of such strings) into single URLs. */
export function splitServerUrls(urls: string | readonly string[]): string[] {
  const list = typeof urls === 'string' ? [urls] : urls;
  return list.flatMap((u) => u.split(',')).map((u) => u.trim()).filter((u) => u.length > 0);
}

/** Parses one server URL (`nats://host:port`, `tls://host:port` or `host:port`). */
export function parseServerUrl(text: string): ServerAddress {
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `nats://${text}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw new ConfigError(`"${text}" is not a NATS server URL: write nats://HOST:PORT (several: comma-separated) in dist.nats_url / --nats`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = parsed.port ? Number(parsed.port) : DEFAULT_PORT;
  const scheme = parsed.protocol.replace(/:$/, '');
  return { host, port, url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}` };
}

/** The servers a client tries, in order; `rotate` starts at a given one, `learn` adds announced ones. */
export class ServerList {
  private readonly servers: ServerAddress[];
  private next = 0;

  constructor(urls: string | readonly string[], options: { randomize?: boolean; start?: number } = {}) {
    const unique = new Map<string, ServerAddress>();
    for (const text of splitServerUrls(urls)) {
      const address = parseServerUrl(text);
      unique.set(key(address), address);
    }
    if (unique.size === 0) throw new ConfigError('no NATS server URL given: set dist.nats_url / --nats (comma-separated for a cluster)');
    this.servers = [...unique.values()];
    if (options.randomize) shuffle(this.servers);
    this.next = ((options.start ?? 0) % this.servers.length + this.servers.length) % this.servers.length;
  }

  get size(): number {
    return this.servers.length;
  }

  /** Every known server's URL, starting with the one `pick()` would return next. */
  urls(): string[] {
    return this.servers.map((_, i) => (this.servers[(this.next + i) % this.servers.length] as ServerAddress).url);
  }

  /** The server to try now; the following call returns the one after it. */
  pick(): ServerAddress {
    const server = this.servers[this.next] as ServerAddress;
    this.next = (this.next + 1) % this.servers.length;
    return server;
  }

  /** Adds servers a connected server announced (`INFO.connect_urls`, `host:port` each). */
  learn(announced: readonly string[] | undefined): void {
    for (const text of announced ?? []) {
      try {
        const address = parseServerUrl(text);
        if (!this.servers.some((s) => key(s) === key(address))) this.servers.push(address);
      } catch {
        // A malformed announcement is not the client's problem; keep the known servers.
      }
    }
  }
}

function key(a: ServerAddress): string {
  return `${a.host}:${a.port}`;
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}
