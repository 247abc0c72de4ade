/**
 * @module transport/nats-server-process
 * One `nats-server` child process: the config file it runs from, spawning it from PATH, reading
 * the ports it chose (the server writes them to a ports file, so client and monitoring ports
 * need no probe-then-bind), its log tail, and ending it by PID. `nats-server.ts` composes these
 * into a single server or a cluster; everything that decides *what* a server is (ports, routes,
 * JetStream, credentials) is in `NatsServerSpec`, so new options are one field and one config
 * line here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { dyingWithParent } from './orphan-guard.js';
import { whichOnPath } from './path-lookup.js';

/** One client user of the server, optionally limited to subjects (nats-server's `permissions`). */
export interface NatsUserSpec {
  user: string;
  pass: string;
  /** Subjects the user may publish to / subscribe to (wildcards allowed); absent = everything. */
  permissions?: { publish: string[]; subscribe: string[] };
}

/** Client authorization: one user, one token, or several users each with their own permissions. */
export type NatsAuth = { user: string; pass: string } | { token: string } | { users: NatsUserSpec[] };

/** The server's TLS identity (PEM files); set = every client must speak TLS. */
export interface NatsServerTls {
  certFile: string;
  keyFile: string;
  /** CA of client certificates; with `verify` a client must present one it signed (mutual TLS). */
  caFile?: string;
  verify?: boolean;
}

/** What one server is. */
export interface NatsServerSpec {
  /** Client port on 127.0.0.1; 0 = chosen by the server (kept across restarts). */
  port: number;
  /** Unique in a cluster (JetStream clustering requires names). */
  serverName?: string;
  /**
   * Cluster membership: this server's route port and every member's route URL; with `auth`,
   * routes must log in (else anyone on the host could join as a route and read every message).
   */
  cluster?: { name: string; port: number; routes: string[]; auth?: { user: string; pass: string } };
  /** JetStream store directory; absent = no JetStream. */
  jetstreamDir?: string;
  maxPayload?: number;
  auth?: NatsAuth;
  tls?: NatsServerTls;
  /** Go's GC target percentage for the process (GOGC); unset = Go's default of 100. */
  gogc?: number;
}

/** The ports a running server reported. */
export interface NatsPorts {
  client: number;
  monitor: string;
}

const LOG_LINES = 200;

export class NatsServerProcess {
  private child: ChildProcess | undefined;
  private readonly lines: string[] = [];
  private current: NatsPorts = { client: 0, monitor: '' };
  private expectExit = false;

  constructor(
    readonly spec: NatsServerSpec,
    /** Private folder for the config and ports files. */
    private readonly workDir: string,
    private readonly log: Logger,
  ) {}

  get ports(): NatsPorts {
    return this.current;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  logTail(): string[] {
    return [...this.lines];
  }

  /** Spawns the server and resolves once it has written its ports file (not yet necessarily ready). */
  async spawn(timeoutMs: number): Promise<NatsPorts> {
    const binary = findOnPath('nats-server');
    const confPath = join(this.workDir, 'nats-server.conf');
    // 0600: the file may hold the server's credentials. It is removed once the server has read
    // it (below), so not even a SIGKILLed launcher leaves a password behind in its temp folder.
    writeFileSync(confPath, configText(this.spec, this.workDir), { mode: 0o600 });
    this.expectExit = false;
    const env = this.spec.gogc === undefined ? process.env : { ...process.env, GOGC: String(this.spec.gogc) };
    // The server ends when this process does, however it ends (src/transport/orphan-guard.ts).
    const command = dyingWithParent(binary, ['-c', confPath]);
    const child = spawn(command.command, command.args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child = child;
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
      this.lines.splice(0, Math.max(0, this.lines.length - LOG_LINES));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      if (!this.expectExit && child === this.child) this.log.warn('nats-server exited', { pid: child.pid, code, signal, tail: this.lines.slice(-5) });
    });
    const deadline = Date.now() + timeoutMs;
    const portsFile = join(this.workDir, `nats-server_${child.pid}.ports`);
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`nats-server exited during start-up (code ${child.exitCode}): ${this.lines.slice(-5).join(' | ')}`);
      const ports = readPorts(portsFile);
      if (ports) {
        // The ports file is written after the config is parsed; a restart writes the config anew.
        rmSync(confPath, { force: true });
        this.current = ports;
        this.spec.port = ports.client; // a restart keeps the port
        return ports;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await this.end('SIGKILL');
    throw new Error(`nats-server wrote no ports file within ${timeoutMs} ms: ${this.lines.slice(-5).join(' | ')}`);
  }

  /** Signals the process by PID and waits for its exit (SIGKILL after 5 s when `signal` is gentler). */
  async end(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const running = this.child;
    if (!running || !this.running) return;
    this.expectExit = true;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Synchronous last resort when this process exits (`process.on('exit')`). */
  killNow(): void {
    if (this.running) this.child?.kill('SIGKILL');
  }
}

/** The config file of `spec` (JSON-quoted strings, which nats-server's config syntax accepts). */
export function configText(spec: NatsServerSpec, workDir: string): string {
  const q = (s: string) => JSON.stringify(s);
  const out = [`listen: ${q(`127.0.0.1:${spec.port === 0 ? -1 : spec.port}`)}`, `http: ${q('127.0.0.1:-1')}`, `ports_file_dir: ${q(workDir)}`];
  if (spec.serverName) out.push(`server_name: ${q(spec.serverName)}`);
  if (spec.maxPayload !== undefined) {
    out.push(`max_payload: ${spec.maxPayload}`);
    // The server refuses max_payload above max_pending (64 MiB default).
    if (spec.maxPayload > 64 * 1024 * 1024) out.push(`max_pending: ${spec.maxPayload}`);
  }
  if (spec.cluster) {
    const { auth } = spec.cluster;
    const login = auth ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@` : '';
    const routes = spec.cluster.routes.map((r) => q(login ? r.replace('://', `://${login}`) : r)).join(', ');
    const authorization = auth ? `, authorization { user: ${q(auth.user)}, password: ${q(auth.pass)} }` : '';
    out.push(`cluster { name: ${q(spec.cluster.name)}, listen: ${q(`127.0.0.1:${spec.cluster.port}`)}, routes: [${routes}]${authorization} }`);
  }
  if (spec.jetstreamDir) out.push(`jetstream { store_dir: ${q(spec.jetstreamDir)} }`);
  if (spec.tls) {
    const { certFile, keyFile, caFile, verify } = spec.tls;
    out.push(`tls { cert_file: ${q(certFile)}, key_file: ${q(keyFile)}${caFile ? `, ca_file: ${q(caFile)}` : ''}${verify ? ', verify: true' : ''} }`);
  }
  if (spec.auth) out.push(authorizationText(spec.auth));
  return out.join('\n') + '\n';
}

/** The `authorization` block of `auth` (also the users file of docs/kubernetes.md, scripts/nats-users.ts). */
export function authorizationText(auth: NatsAuth): string {
  const q = (s: string) => JSON.stringify(s);
  if ('token' in auth) return `authorization { token: ${q(auth.token)} }`;
  if ('user' in auth) return `authorization { user: ${q(auth.user)}, password: ${q(auth.pass)} }`;
  const list = (subjects: string[]) => `[${subjects.map(q).join(', ')}]`;
  const users = auth.users.map((u) => {
    const permissions = u.permissions ? `, permissions: { publish: { allow: ${list(u.permissions.publish)} }, subscribe: { allow: ${list(u.permissions.subscribe)} } }` : '';
    return `    { user: ${q(u.user)}, password: ${q(u.pass)}${permissions} }`;
  });
  return `authorization {\n  users: [\n${users.join(',\n')}\n  ]\n}`;
}

function readPorts(file: string): NatsPorts | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { nats: string[]; monitoring: string[] };
    return { client: Number(new URL(parsed.nats[0] as string).port), monitor: parsed.monitoring[0] as string };
  } catch {
    return undefined; // not written yet
  }
}

export function findOnPath(name: string): string {
  const found = whichOnPath(name);
  if (found) return found;
  throw new ConfigError(`${name} was not found on PATH: install it with apt-get install -y nats-server (or pass a NATS URL)`);
}
