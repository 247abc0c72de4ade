/**
 * @module launcher/worker-pool
 * The local launcher's worker processes: `instructue worker` children with ids w0, w1, …, each
 * logging to RUN/logs/<id>.log. Resizing up starts new ones (they join through the
 * coordinator); resizing down is the coordinator's job (it releases workers, which exit).
 * Only processes this pool started are ever signalled, by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_WORKERS_ENV } from '../backend/blas/threads.js';
import type { Logger } from '../log.js';

export interface WorkerPoolOptions {
  natsUrl: string;
  job: string;
  logDir: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

const BIN = new URL('../../../bin/instructue.js', import.meta.url).pathname;

export class WorkerPool {
  private readonly children = new Map<string, ChildProcess>();
  private next = 0;

  constructor(private readonly opts: WorkerPoolOptions) {
    mkdirSync(opts.logDir, { recursive: true });
  }

  /** Live workers (started and not exited). */
  get alive(): string[] {
    return [...this.children.keys()];
  }

  /** Starts workers until `count` are alive. */
  grow(count: number): void {
    while (this.children.size < count) this.start(count);
  }

  /** `localWorkers`: how many share this machine's cores (each sizes its BLAS threads by it). */
  private start(localWorkers: number): void {
    const id = `w${this.next++}`;
    const logFile = join(this.opts.logDir, `${id}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [BIN, 'worker', '--nats', this.opts.natsUrl, '--job', this.opts.job, '--id', id], {
      stdio: ['ignore', fd, fd], env: { ...process.env, ...this.opts.env, [LOCAL_WORKERS_ENV]: String(localWorkers) },
    });
    closeSync(fd);
    this.children.set(id, child);
    this.opts.log.info('worker started', { worker: id, pid: child.pid, log: logFile });
    child.on('exit', (code, signal) => {
      this.children.delete(id);
      this.opts.log.info('worker exited', { worker: id, code, signal });
    });
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
    const deadline = Date.now() + timeoutMs;
    while (this.children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const [id, child] of this.children) {
      this.opts.log.warn('worker did not exit; killing it', { worker: id, pid: child.pid });
      child.kill('SIGKILL');
    }
    while (this.children.size > 0) await new Promise((r) => setTimeout(r, 50));
  }
}
