/**
 * @module launcher/worker-pool
 * The local launcher's worker processes: `instructue worker` children with ids w0, w1, …, each
 * logging to RUN/logs/<id>.log. Growing starts new ones (they join through the coordinator);
 * shrinking is the coordinator's job (it releases workers, which exit).
 *
 * - A worker that dies (killed, crashed) is replaced by a new one, at most `maxRestarts` times
 *   in the pool's life (torchrun's `--max-restarts`); a worker that exits with code 2 (a usage,
 *   config or data error: every replacement would fail the same way) is not: `onFatal` hears
 *   its last log line instead.
 * - Each child's stdin is a pipe from this process: when the launcher dies, even by SIGKILL, the
 *   pipe closes and the worker exits (INSTRUCTUE_EXIT_WITH_PARENT), so no orphan trains on.
 * Only processes this pool started are ever signalled, by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';

export interface WorkerPoolOptions {
  natsUrl: string;
  job: string;
  logDir: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Replacements of dead workers allowed over the pool's life. */
  maxRestarts: number;
  /** A worker exited with code 2: `reason` quotes its last log line. */
  onFatal?: (id: string, reason: string) => void;
}

const BIN = new URL('../../../bin/instructue.js', import.meta.url).pathname;

export class WorkerPool {
  private readonly children = new Map<string, ChildProcess>();
  private next = 0;
  private restarts = 0;
  private stopping = false;

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
    while (this.children.size < count) this.start();
  }

  /** The job is ending: workers that exit from now on are not replaced. */
  stop(): void {
    this.stopping = true;
  }

  private start(): void {
    const id = `w${this.next++}`;
    const logFile = join(this.opts.logDir, `${id}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [BIN, 'worker', '--nats', this.opts.natsUrl, '--job', this.opts.job, '--id', id], {
      stdio: ['pipe', fd, fd], env: { ...process.env, ...this.opts.env, INSTRUCTUE_EXIT_WITH_PARENT: '1' },
    });
    closeSync(fd);
    this.children.set(id, child);
    this.opts.log.info('worker started', { worker: id, pid: child.pid, log: logFile });
    child.on('exit', (code, signal) => {
      this.children.delete(id);
      this.opts.log.info('worker exited', { worker: id, code, signal });
      this.afterExit(id, code, signal, logFile);
    });
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
