/**
 * @module transport/nats-server
 * Starts and stops local `nats-server` processes (from PATH) on 127.0.0.1 for the local
 * launcher, the tests and the benchmarks: one server (`startNatsServer`), or a cluster of N
 * (`startNatsCluster`): full-mesh routes on free loopback ports, JetStream on every member with
 * its own store directory, and a wait until every route is up and JetStream has a meta leader.
 * Each server lets the OS pick its client and monitoring ports (it reports them in a ports
 * file, so there is no probe-then-bind race there); route ports must be known to every member
 * before any starts, so they are probed, and a start that loses that race is retried with new
 * ports. Servers restart on the same ports and store directories (a cluster member rejoins).
 * Temp folders are removed by `stop()`; a server still running when this process exits is
 * killed by PID.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { NatsServerProcess, type NatsAuth, type NatsServerSpec, type NatsServerTls } from './nats-server-process.js';

export type { NatsAuth, NatsServerTls, NatsUserSpec } from './nats-server-process.js';

export interface StartNatsServerOptions {
  /** Client port on 127.0.0.1; 0 (default) = a free port chosen by the server. */
  port?: number;
  /** Enable JetStream (needed by `NatsKeyValue`). */
  jetstream?: boolean;
  /** JetStream store directory; default a temp directory removed by `stop()`. (A cluster: the parent of one folder per member.) */
  storeDir?: string;
  /** Largest message payload in bytes (server default 1 MiB; NATS advises ≤ 8 MiB). */
  maxPayload?: number;
  auth?: NatsAuth;
  /** Serve clients over TLS only (the server's certificate and key). */
  tls?: NatsServerTls;
  log?: Logger;
  /** How long to wait until the server (or cluster) is ready (default 15 s; a cluster 30 s). */
  readyTimeoutMs?: number;
  /**
   * Go's GC target for the server process (GOGC; default 400). nats-server allocates a buffer
   * per large message; at Go's default of 100 its GC took a third of its CPU per forwarded byte
   * (2.1 → 1.3 ms/MB with 400 for 1 MiB messages on the 2-core machine; peak RSS 80 → 280 MiB
   * under a 4-rank 64 MiB all-reduce; docs/collectives.md). 100 restores Go's default.
   */
  gogc?: number;
}

export interface StartNatsClusterOptions extends Omit<StartNatsServerOptions, 'port'> {
  /** Number of servers (1 = a plain server, no cluster block). */
  size: number;
  /** Cluster name (default a random one, so parallel test clusters never merge). */
  name?: string;
}

export interface NatsServerHandle {
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** PID of the current server process (changes on restart). */
  readonly pid: number;
  /** `http://127.0.0.1:PORT` of the monitoring endpoints (`/varz`, `/connz`, `/healthz`). */
  readonly monitorUrl: string;
  /** SIGTERM by PID, wait for the exit (SIGKILL after 5 s); removes temp files. Idempotent. */
  stop(): Promise<void>;
  /** Stops and starts again on the same ports and store directory (a cluster member rejoins). */
  restart(): Promise<void>;
  /** Ends the process with `signal` (default SIGKILL: a crash) and does not restart it; `restart()` may bring it back. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** The last lines the server logged (newest last). */
  logTail(): string[];
}

export interface NatsClusterHandle {
  readonly servers: readonly NatsServerHandle[];
  /** Every member's client URL. */
  readonly urls: string[];
  /** The client URLs comma-separated: what `dist.nats_url` / `--nats` take. */
  readonly url: string;
  /** Resolves once every running member has all its routes and (with JetStream) a meta leader. */
  waitFormed(timeoutMs?: number): Promise<void>;
  /** Stops every member (by PID) and removes the temp folders. Idempotent. */
  stop(): Promise<void>;
}

/** Starts nats-server and resolves once it accepts clients; throws `ConfigError` if it is not installed. */
export async function startNatsServer(options: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  const workDir = mkdtempSync(join(tmpdir(), 'instructue-nats-'));
  const log = (options.log ?? silentLogger).child({ component: 'nats-server' });
  const spec: NatsServerSpec = { port: options.port ?? 0, ...common(options), ...(options.jetstream ? { jetstreamDir: options.storeDir ?? join(workDir, 'jetstream') } : {}) };
  const server = new NatsServerProcess(spec, workDir, log);
  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  const launch = async () => {
    try {
      await server.spawn(timeoutMs);
      await waitUntil(timeoutMs, () => healthy(server.ports.monitor), () => `nats-server did not become healthy within ${timeoutMs} ms: ${server.logTail().slice(-5).join(' | ')}`);
    } catch (err) {
      await server.end('SIGKILL');
      throw err;
    }
    log.info('nats-server ready', { pid: server.pid, port: server.ports.client, jetstream: options.jetstream ?? false });
  };
  try {
    await launch();
  } catch (err) {
    rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
  return manage([server], workDir, launch).servers[0] as NatsServerHandle;
}

/**
 * Starts `size` servers as one cluster and resolves once it has formed (all routes up, and with
 * JetStream a meta leader, so a replicated KV bucket can be created at once).
 */
export async function startNatsCluster(options: StartNatsClusterOptions): Promise<NatsClusterHandle> {
  const { size } = options;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`a NATS cluster needs at least one server, got ${size}`);
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  if (size === 1) {
    const server = await startNatsServer(options);
    return clusterHandle([server], async () => undefined, () => server.stop());
  }
  const workDir = mkdtempSync(join(tmpdir(), 'instructue-nats-cluster-'));
  const log = (options.log ?? silentLogger).child({ component: 'nats-cluster' });
  const name = options.name ?? `instructue-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const storeRoot = options.storeDir ?? join(workDir, 'jetstream');
  for (let attempt = 1; ; attempt++) {
    const routePorts = await freeLoopbackPorts(size);
    const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`);
    // Routes log in with a random password of this cluster (a route sees every message).
    const routeAuth = { user: 'route', pass: randomBytes(24).toString('base64url') };
    const members = routePorts.map((port, i) => {
      const dir = join(workDir, `s${i}`);
      mkdirSync(dir, { recursive: true });
      const spec: NatsServerSpec = {
        port: 0, serverName: `${name}-s${i}`, cluster: { name, port, routes, auth: routeAuth }, ...common(options),
        ...(options.jetstream ? { jetstreamDir: join(storeRoot, `s${i}`) } : {}),
      };
      return new NatsServerProcess(spec, dir, log.child({ server: i }));
    });
    try {
      await Promise.all(members.map((m) => m.spawn(timeoutMs)));
      const handle = manage(members, workDir, async (member) => {
        await member.spawn(timeoutMs);
        await waitFormed(members, options.jetstream ?? false, timeoutMs);
      });
      await waitFormed(members, options.jetstream ?? false, timeoutMs);
      log.info('nats cluster ready', { name, size, urls: handle.servers.map((s) => s.url), jetstream: options.jetstream ?? false });
      return clusterHandle(handle.servers, (ms) => waitFormed(members, options.jetstream ?? false, ms ?? timeoutMs), handle.stopAll);
    } catch (err) {
      await Promise.all(members.map((m) => m.end('SIGKILL')));
      const lostRace = members.some((m) => m.logTail().some((l) => /address already in use/i.test(l)));
      if (!lostRace || attempt >= 3) {
        rmSync(workDir, { recursive: true, force: true });
        throw err;
      }
      log.info('a route port was taken meanwhile; retrying with new ports', { attempt });
    }
  }
}

/** Go GC target of the servers this module starts (see `StartNatsServerOptions.gogc`). */
export const DEFAULT_NATS_GOGC = 400;

function common(o: StartNatsServerOptions): Partial<NatsServerSpec> {
  return { ...(o.maxPayload !== undefined ? { maxPayload: o.maxPayload } : {}), ...(o.auth ? { auth: o.auth } : {}), ...(o.tls ? { tls: o.tls } : {}), gogc: o.gogc ?? DEFAULT_NATS_GOGC };
}

/**
 * Handles over running processes: stop/restart/kill by PID, the exit hook, the work folder.
 * `relaunch(member)` starts a stopped member again and waits until it is ready.
 */
function manage(members: NatsServerProcess[], workDir: string, relaunch: (member: NatsServerProcess) => Promise<void>): { servers: NatsServerHandle[]; stopAll: () => Promise<void> } {
  let stopped = false;
  const killAll = () => members.forEach((m) => m.killNow());
  process.once('exit', killAll);
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(members.map((m) => m.end('SIGTERM')));
    process.removeListener('exit', killAll);
    rmSync(workDir, { recursive: true, force: true });
  };
  const servers = members.map((member): NatsServerHandle => ({
    get url() {
      return `nats://127.0.0.1:${member.ports.client}`;
    },
    get port() {
      return member.ports.client;
    },
    get pid() {
      return member.pid;
    },
    get monitorUrl() {
      return member.ports.monitor;
    },
    stop: members.length === 1 ? stopAll : () => member.end('SIGTERM'),
    async restart() {
      if (stopped) throw new Error('nats-server handle was stopped; start a new one');
      await member.end('SIGTERM');
      await relaunch(member);
    },
    kill: (signal = 'SIGKILL') => member.end(signal),
    logTail: () => member.logTail(),
  }));
  return { servers, stopAll };
}

function clusterHandle(servers: NatsServerHandle[], formed: (ms?: number) => Promise<void>, stop: () => Promise<void>): NatsClusterHandle {
  return {
    servers,
    get urls() {
      return servers.map((s) => s.url);
    },
    get url() {
      return servers.map((s) => s.url).join(',');
    },
    waitFormed: formed,
    stop,
  };
}

/** Every running member sees all other running members as routes, and JetStream (if on) has a meta leader. */
async function waitFormed(members: NatsServerProcess[], jetstream: boolean, timeoutMs: number): Promise<void> {
  let waitingFor = '';
  const notYet = (why: string) => {
    waitingFor = why;
    return false;
  };
  await waitUntil(timeoutMs, async () => {
    const up = members.filter((m) => m.running);
    for (const m of up) {
      const routez = await monitor<{ num_routes: number }>(m.ports.monitor, '/routez');
      if (!routez || routez.num_routes < up.length - 1) return notYet(`server ${m.spec.serverName} has ${routez?.num_routes ?? '?'} of ${up.length - 1} routes`);
      if (!jetstream) continue;
      const jsz = await monitor<{ meta_cluster?: { leader?: string } }>(m.ports.monitor, '/jsz');
      if (!jsz?.meta_cluster?.leader) return notYet(`server ${m.spec.serverName} sees no JetStream meta leader yet`);
      if (!(await healthy(m.ports.monitor))) return notYet(`server ${m.spec.serverName} is not healthy yet`);
    }
    return true;
  }, () => `nats cluster did not form within ${timeoutMs} ms (${waitingFor}): ${members.flatMap((m) => m.logTail().slice(-2)).join(' | ')}`);
}

async function waitUntil(timeoutMs: number, ready: () => Promise<boolean>, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(describe());
}

async function monitor<T>(base: string, path: string): Promise<T | undefined> {
  try {
    const res = await fetch(`${base}${path}`);
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

async function healthy(monitorUrl: string): Promise<boolean> {
  try {
    return (await fetch(`${monitorUrl}/healthz`)).ok;
  } catch {
    return false;
  }
}

/** `count` distinct free loopback ports (probed; the caller retries if one is taken meanwhile). */
async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
