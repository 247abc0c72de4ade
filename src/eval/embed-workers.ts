/**
 * @module eval/embed-workers
 * `embed --workers N`: the users of a data set split across N processes (tfjs on wasm is single
 * threaded, so processes are how embedding uses more cores). The parent indexes the data once
 * (the random-access index, src/data/dataset.ts, cached beside the data for the children), gives
 * each child a contiguous range of samples cut at chunk boundaries, and joins their rows in
 * sample order. Every chunk, and so every encoder GEMM and decoder batch, is then the one it
 * would be in one process, so the result is bit-identical to `--workers 1`. (Cutting at decoder
 * batches only is not enough: the encoder groups a chunk's distinct records, and a BLAS rounds a
 * GEMM by its shape.) A failing child stops the others (by their pids) and its typed error is
 * rethrown here.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../config/schema.js';
import { Dataset } from '../data/dataset.js';
import { ConfigError, InstructueError, UsageError, type ErrorCode, type WireError } from '../errors.js';
import type { EmbedJob } from './batched-embed.js';
import type { EmbeddingsFile } from './embeddings-file.js';

export interface WorkerEmbedOptions {
  run?: string;
  checkpoint?: string;
  backend?: BackendName;
  data: string;
  onInvalid: 'fail' | 'skip';
  jobs: EmbedJob[];
  batch: number;
  chunk: number;
  workers: number;
  /** Samples embedded so far over all workers. */
  onProgress?: (done: number, total: number) => void;
}

/** What the parent sends a child. */
export interface WorkerStart {
  type: 'start';
  run?: string;
  checkpoint?: string;
  backend?: BackendName;
  data: string;
  onInvalid: 'fail' | 'skip';
  jobs: EmbedJob[];
  batch: number;
  chunk: number;
  /** Sample index range [start, end) of the data set. */
  start: number;
  end: number;
}

/** What a child sends back. */
export type WorkerMessage =
  | { type: 'progress'; done: number }
  | { type: 'result'; checkpoint: string; files: Array<{ embeddings: Float32Array; userIds: string[]; d: number }> }
  | { type: 'error'; error: WireError };

const CHILD = fileURLToPath(new URL('./embed-worker-main.js', import.meta.url));

/** Rebuilds a typed error sent by a child. */
function fromWire(w: WireError): Error {
  if (w.code === 'INTERNAL') return new Error(w.message);
  const err = new InstructueError(w.code as ErrorCode, w.message);
  err.name = w.name;
  return err;
}

/** Contiguous sample ranges for `workers` processes, cut at multiples of `unit` (the chunk). */
export function workerRanges(size: number, unit: number, workers: number): Array<[number, number]> {
  const units = Math.ceil(size / unit);
  return Array.from({ length: workers }, (_, w): [number, number] => [
    Math.min(size, Math.floor((w * units) / workers) * unit),
    Math.min(size, Math.floor(((w + 1) * units) / workers) * unit),
  ]).filter(([a, b]) => b > a);
}

/**
 * Embeds in child processes; returns one file per job, the checkpoint the children used and how
 * many processes ran (fewer than asked when the data holds fewer chunks than workers).
 */
export async function embedInWorkers(opts: WorkerEmbedOptions): Promise<{ files: EmbeddingsFile[]; checkpoint: string; processes: number }> {
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new UsageError(`--workers must be a positive integer; got ${opts.workers}`);
  const chunk = Math.max(1, Math.round(opts.chunk / opts.batch)) * opts.batch;
  const ds = await Dataset.open(opts.data, { onInvalid: opts.onInvalid });
  const size = ds.size;
  await ds.close();
  if (size === 0) throw new ConfigError(`${opts.data} holds no records to embed`);
  const ranges = workerRanges(size, chunk, opts.workers);
  const done = ranges.map(() => 0);
  const children: ChildProcess[] = [];
  const stopAll = () => {
    for (const c of children) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGTERM');
  };
  try {
    const results = await Promise.all(ranges.map(([start, end], w) => new Promise<WorkerMessage & { type: 'result' }>((resolve, reject) => {
      const child = fork(CHILD, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      let settled = false;
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'progress') {
          done[w] = m.done;
          opts.onProgress?.(done.reduce((a, b) => a + b, 0), size);
        } else if (m.type === 'result') {
          settled = true;
          resolve(m);
        } else {
          settled = true;
          reject(fromWire(m.error));
        }
      });
      child.on('error', (err) => {
        if (!settled) reject(err);
        settled = true;
      });
      child.on('exit', (code, signal) => {
        if (!settled) reject(new Error(`embed worker ${w} (pid ${child.pid}) exited with ${signal ?? `code ${code}`} before sending its embeddings`));
        settled = true;
      });
      const start_: WorkerStart = {
        type: 'start', run: opts.run, checkpoint: opts.checkpoint, backend: opts.backend, data: opts.data, onInvalid: opts.onInvalid,
        jobs: opts.jobs, batch: opts.batch, chunk, start, end,
      };
      child.send(start_);
    })));
    const files = opts.jobs.map((_, j) => {
      const parts = results.map((r) => r.files[j]!);
      const d = parts[0]?.d ?? 0;
      const n = parts.reduce((a, p) => a + p.userIds.length, 0);
      const embeddings = new Float32Array(n * d);
      let at = 0;
      for (const p of parts) {
        embeddings.set(p.embeddings, at);
        at += p.embeddings.length;
      }
      return { embeddings, n, d, userIds: parts.flatMap((p) => p.userIds) };
    });
    return { files, checkpoint: results[0]?.checkpoint ?? '', processes: ranges.length };
  } catch (err) {
    stopAll();
    throw err;
  }
}
