/**
 * @module backend/blas/threads
 * How many threads one process gives its BLAS. The machine's cores are shared by the local
 * workers (the launcher tells each worker how many there are through `INSTRUCTUE_LOCAL_WORKERS`),
 * so the default is cores / local workers, at least 1: more would oversubscribe the cores and
 * every process would wait on the others' spinning threads. The config key `blas_threads` (> 0)
 * overrides; with `blas_threads` 0 an explicit `OPENBLAS_NUM_THREADS` is left as the user set it.
 */
import { availableParallelism } from 'node:os';

/** Set by the local launcher on each worker it starts: the number of local workers. */
export const LOCAL_WORKERS_ENV = 'INSTRUCTUE_LOCAL_WORKERS';

export interface ThreadChoice {
  /** Threads to set, or null to leave the library's own setting (OPENBLAS_NUM_THREADS). */
  threads: number | null;
  /** Why, for the log line. */
  reason: string;
}

export function chooseBlasThreads(configured: number, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): ThreadChoice {
  if (configured > 0) return { threads: configured, reason: 'blas_threads' };
  if (env.OPENBLAS_NUM_THREADS) return { threads: null, reason: 'OPENBLAS_NUM_THREADS' };
  const workers = Number.parseInt(env[LOCAL_WORKERS_ENV] ?? '', 10);
  const local = Number.isFinite(workers) && workers > 0 ? workers : 1;
  return { threads: Math.max(1, Math.floor(cores / local)), reason: `${cores} cores / ${local} local worker${local === 1 ? '' : 's'}` };
}
