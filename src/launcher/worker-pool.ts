/**
 * @module launcher/worker-pool
 * The local launcher's worker processes: `instructue worker` children with ids w0, w1, …, each
 * logging to RUN/logs/<id>.log. Growing starts new ones (they join through the coordinator);
 * shrinking is the coordinator's job (it releases workers, which exit). A new worker takes the
 * lowest id no live worker holds (a replacement reuses its predecessor's), so ids stay below the
 * most workers a job can have, each with its own NATS user (`nats-identities.ts`).
 * - Each child's environment: the launcher's minus its secrets (`LAUNCHER_SECRET_ENV`: the control
 *   token, the coordinator's NATS login) plus its own NATS login (`identity(id)`).
 *
 * - A worker that dies (killed, crashed) is replaced by a new one, at most `maxRestarts` times
 *   in the pool's life (torchrun's `--max-restarts`); a worker that exits with code 2 (a usage,
 *   config or data error: every replacement would fail the same way) is not: `onFatal` hears
 *   its last log line instead.
 * - Each child's stdin is a pipe from this process: when the launcher dies, even by SIGKILL, the
 *   pipe closes and the worker exits (INSTRUCTUE_EXIT_WITH_PARENT), so no orphan trains on.
 * - With `devices` (cuda.worker_devices) each new worker gets CUDA_VISIBLE_DEVICES of the device
 *   fewest live workers hold (the lowest on a tie), so N workers on N GPUs own one each and a
 *   replacement takes the freed one.
 * Only processes this pool started are ever signalled, by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_WORKERS_ENV } from '../backend/blas/threads.js';
import { LAUNCHER_SECRET_ENV } from './nats-identities.js';
import type { Logger } from '../log.js';

export interface WorkerPoolOptions {
  natsUrl: string;
  job: string;
  logDir: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** GPU ids to spread workers over (each worker sees one as its CUDA device 0); empty = inherit. */
  devices?: readonly string[];
  /** Replacements of dead workers allowed over the pool's life. */
  maxRestarts: number;
  /** The environment that logs worker `id` in to NATS (credentials, TLS files); default none. */
  identity?: (id: string) => NodeJS.ProcessEnv;
  /** A worker exited with code 2: `reason` quotes its last log line. */
  onFatal?: (id: string, reason: string) => void;
}

const BIN = new URL('../../../bin/instructue.js', import.meta.url).pathname;

export class WorkerPool {
  private readonly children = new Map<string, ChildProcess>();
  private readonly deviceOf = new Map<string, string>();
  private restarts = 0;
  private stopping = false;
  /** Workers this pool keeps on the machine: each sizes its BLAS threads by it (cores / target). */
  private target = 0;

  constructor(private readonly opts: WorkerPoolOptions) {
    mkdirSync(opts.logDir, { recursive: true });
  }

  /** Live workers (started and not exited). */
  get alive(): string[] {
    return [...this.children.keys()];
  }

  /** Replacements started so far. */
  get restarted(): number {
    return this.restarts;
  }

  /** Starts workers until `count` are alive. */
  grow(count: number): void {
    this.target = count;
    while (this.children.size < count) this.start();
  }

  /** The job is ending: workers that exit from now on are not replaced. */
  stop(): void {
    this.stopping = true;
  }

  private start(): void {
    let n = 0;
    while (this.children.has(`w${n}`)) n++;
    const id = `w${n}`;
    const logFile = join(this.opts.logDir, `${id}.log`);
    const fd = openSync(logFile, 'a');
    const device = this.pickDevice();
    const child = spawn(process.execPath, [BIN, 'worker', '--nats', this.opts.natsUrl, '--job', this.opts.job, '--id', id], {
      stdio: ['pipe', fd, fd],
      env: { ...this.baseEnv(), ...this.opts.identity?.(id), INSTRUCTUE_EXIT_WITH_PARENT: '1', [LOCAL_WORKERS_ENV]: String(this.target), ...(device !== undefined ? { CUDA_VISIBLE_DEVICES: device } : {}) },
    });
    closeSync(fd);
    this.children.set(id, child);
    if (device !== undefined) this.deviceOf.set(id, device);
    this.opts.log.info('worker started', { worker: id, pid: child.pid, log: logFile, ...(device !== undefined ? { gpu: device } : {}) });
    child.on('exit', (code, signal) => {
      this.children.delete(id);
      this.deviceOf.delete(id);
      this.opts.log.info('worker exited', { worker: id, code, signal });
      this.afterExit(id, code, signal, logFile);
    });
  }

  /** This process's environment and `env`, without the launcher's secrets. */
  private baseEnv(): NodeJS.ProcessEnv {
    const env = { ...process.env, ...this.opts.env };
    for (const name of LAUNCHER_SECRET_ENV) delete env[name];
    return env;
  }

  /** The least used of `devices` among live workers (undefined without devices). */
  private pickDevice(): string | undefined {
    const devices = this.opts.devices ?? [];
    if (devices.length === 0) return undefined;
    const load = (d: string) => [...this.deviceOf.values()].filter((x) => x === d).length;
    return devices.reduce((best, d) => (load(d) < load(best) ? d : best), devices[0]!);
  }

  /** The GPU each live worker was given. */
  get devices(): ReadonlyMap<string, string> {
    return this.deviceOf;
  }

  private afterExit(id: string, code: number | null, signal: NodeJS.Signals | null, logFile: string): void {
    if (this.stopping || code === 0) return;
    if (code === 2) {
      this.opts.onFatal?.(id, `worker ${id} exited with a usage, config or data error (code 2): ${lastLine(logFile)}`);
      return;
    }
    if (this.restarts >= this.opts.maxRestarts) {
      this.opts.log.error('a worker died and dist.max_restarts is used up; not replacing it', { worker: id, code, signal, restarts: this.restarts });
      return;
    }
    this.restarts += 1;
    this.opts.log.warn('a worker died; starting a replacement', { worker: id, code, signal, restart: this.restarts, of: this.opts.maxRestarts });
    this.start();
  }

  /** Sends `signal` to one worker (tests: kill -9, SIGTERM). */
  signal(id: string, signal: NodeJS.Signals): boolean {
    const child = this.children.get(id);
    return child?.pid !== undefined && child.kill(signal);
  }

  pid(id: string): number | undefined {
    return this.children.get(id)?.pid;
  }

  /** Waits for every worker to exit; SIGKILLs the ones still running after `timeoutMs`. */
  async waitAll(timeoutMs: number): Promise<void> {
    this.stop();
    const deadline = Date.now() + timeoutMs;
    while (this.children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const [id, child] of this.children) {
      this.opts.log.warn('worker did not exit; killing it', { worker: id, pid: child.pid });
      child.kill('SIGKILL');
    }
    while (this.children.size > 0) await new Promise((r) => setTimeout(r, 50));
  }
}

/** The last non-empty line of a log file (what a failing worker said last). */
function lastLine(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
    return lines[lines.length - 1] ?? '(empty log)';
  } catch {
    return `(no log at ${file})`;
  }
}
