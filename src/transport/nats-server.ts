/**
 * @module transport/nats-server
 * Starts and stops a local `nats-server` process (from PATH) on 127.0.0.1: used by the local
 * launcher, the tests and the benchmarks. It writes a config file (listen address, monitor port,
 * max_payload, JetStream store, authorization), lets the server pick free ports the first time
 * (it reports them in a ports file, so there is no probe-then-bind race), waits for `/healthz`,
 * and restarts on the same client port and store directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';

export type NatsAuth = { user: string; pass: string } | { token: string };

export interface StartNatsServerOptions {
  /** Client port on 127.0.0.1; 0 (default) = a free port chosen by the server. */
  port?: number;
  /** Enable JetStream (needed by `NatsKeyValue`). */
  jetstream?: boolean;
  /** JetStream store directory; default a temp directory removed by `stop()`. */
  storeDir?: string;
  /** Largest message payload in bytes (server default 1 MiB; NATS advises ≤ 8 MiB). */
  maxPayload?: number;
  auth?: NatsAuth;
  log?: Logger;
  /** How long to wait for `/healthz` (default 15 s). */
  readyTimeoutMs?: number;
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
  /** Stops and starts again on the same port and store directory. */
  restart(): Promise<void>;
  /** The last lines the server logged (newest last). */
  logTail(): string[];
}

const LOG_LINES = 200;

/** Starts nats-server and resolves once it accepts clients; throws `ConfigError` if it is not installed. */
export async function startNatsServer(options: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = findOnPath('nats-server');
  const workDir = mkdtempSync(join(tmpdir(), 'instructue-nats-'));
  const storeDir = options.storeDir ?? join(workDir, 'jetstream');
  const log = (options.log ?? silentLogger).child({ component: 'nats-server' });
  const lines: string[] = [];
  let child: ChildProcess | undefined;
  let ports = { client: 0, monitor: '' };
  let stopped = false;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const launch = async (port: number) => {
    const confPath = join(workDir, 'nats-server.conf');
    writeFileSync(confPath, configText({ ...options, port, storeDir, workDir }));
    child = spawn(binary, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
      lines.splice(0, Math.max(0, lines.length - LOG_LINES));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const started = child;
    started.once('exit', (code, signal) => {
      if (!stopped && started === child) log.warn('nats-server exited', { code, signal, tail: lines.slice(-5) });
    });
    ports = await waitReady(started, workDir, options.readyTimeoutMs ?? 15000, lines);
    log.info('nats-server ready', { pid: started.pid, port: ports.client, jetstream: options.jetstream ?? false });
  };

  const stopProcess = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  await launch(options.port ?? 0);
  return {
    get url() {
      return `nats://127.0.0.1:${ports.client}`;
    },
    get port() {
      return ports.client;
    },
    get pid() {
      return child?.pid ?? -1;
    },
    get monitorUrl() {
      return ports.monitor;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopProcess();
      process.removeListener('exit', killOnExit);
      rmSync(workDir, { recursive: true, force: true });
    },
    async restart() {
      if (stopped) throw new Error('nats-server handle was stopped; start a new one');
      const port = ports.client;
      await stopProcess();
      await launch(port);
    },
    logTail: () => [...lines],
  };
}

function configText(o: StartNatsServerOptions & { port: number; storeDir: string; workDir: string }): string {
  const q = (s: string) => JSON.stringify(s);
  const out = [
    `listen: ${q(`127.0.0.1:${o.port === 0 ? -1 : o.port}`)}`,
    `http: ${q('127.0.0.1:-1')}`,
    `ports_file_dir: ${q(o.workDir)}`,
  ];
  if (o.maxPayload !== undefined) {
    out.push(`max_payload: ${o.maxPayload}`);
    // The server refuses max_payload above max_pending (64 MiB default).
    if (o.maxPayload > 64 * 1024 * 1024) out.push(`max_pending: ${o.maxPayload}`);
  }
  if (o.jetstream) out.push(`jetstream { store_dir: ${q(o.storeDir)} }`);
  if (o.auth && 'token' in o.auth) out.push(`authorization { token: ${q(o.auth.token)} }`);
  else if (o.auth) out.push(`authorization { user: ${q(o.auth.user)}, password: ${q(o.auth.pass)} }`);
  return out.join('\n') + '\n';
}

async function waitReady(child: ChildProcess, workDir: string, timeoutMs: number, lines: string[]): Promise<{ client: number; monitor: string }> {
  const deadline = Date.now() + timeoutMs;
  const portsFile = join(workDir, `nats-server_${child.pid}.ports`);
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nats-server exited during start-up (code ${child.exitCode}): ${lines.slice(-5).join(' | ')}`);
    }
    const ports = readPorts(portsFile);
    if (ports && (await healthy(ports.monitor))) return ports;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`nats-server did not become healthy within ${timeoutMs} ms: ${lines.slice(-5).join(' | ')}`);
}

function readPorts(file: string): { client: number; monitor: string } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { nats: string[]; monitoring: string[] };
    const client = Number(new URL(parsed.nats[0] as string).port);
    return { client, monitor: parsed.monitoring[0] as string };
  } catch {
    return undefined; // not written yet
  }
}

async function healthy(monitor: string): Promise<boolean> {
  try {
    const res = await fetch(`${monitor}/healthz`);
    return res.ok;
  } catch {
    return false;
  }
}

function findOnPath(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new ConfigError(`${name} was not found on PATH: install it with apt-get install -y nats-server (or pass a NATS URL)`);
}
