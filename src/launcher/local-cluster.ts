/**
 * @module launcher/local-cluster
 * `instructue train --workers N`: a whole cluster on this machine — nats-server from PATH on a
 * free loopback port, or a cluster of `dist.nats_cluster_size` servers (unless --nats names
 * servers), the coordinator in this process, and N worker processes. SIGINT/SIGTERM → a
 * checkpointed stop; `instructue scale` → more or fewer workers.
 */
import { join } from 'node:path';
import { loadConfig, type Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { Coordinator, JobOutcome } from '../coordinator/coordinator.js';
import { runCoordinator } from '../coordinator/run.js';
import { natsAuth } from '../transport/nats-credentials.js';
import { startNatsCluster } from '../transport/nats-server.js';
import type { Logger } from '../log.js';
import { WorkerFailedError } from '../errors.js';
import { WorkerPool } from './worker-pool.js';

export interface LocalClusterOptions {
  config: Frozen<InstructueConfig>;
  out: string;
  workers: number;
  /** Existing NATS server(s), comma-separated; empty = start `dist.nats_cluster_size` of them. */
  natsUrl: string;
  resume: boolean;
  allowConfigChange: boolean;
  log: Logger;
  /** Called when the coordinator is up (the CLI draws its progress from it; tests reach the pool and coordinator). */
  onReady?: (cluster: LocalCluster) => void | Promise<void>;
}

export interface LocalCluster {
  coordinator: Coordinator;
  pool: WorkerPool;
  controlUrl: string;
}

export async function trainCluster(opts: LocalClusterOptions): Promise<JobOutcome> {
  const { log } = opts;
  // Validated again with the worker count, so `--workers` above data.virtual_shards fails here.
  const config = loadConfig({ object: opts.config, overrides: { 'dist.workers': opts.workers }, env: {} });
  // With credentials configured (dist.nats_*), the servers require them too.
  const nats = opts.natsUrl ? null : await startNatsCluster({ size: config.dist.nats_cluster_size, jetstream: true, auth: natsAuth(config.dist), maxPayload: config.dist.nats_max_payload, log });
  const natsUrl = opts.natsUrl || nats!.url;
  let fatal: string | null = null;
  let coordinatorRef: Coordinator | null = null;
  const pool = new WorkerPool({
    natsUrl, job: config.dist.job, logDir: join(opts.out, 'logs'), log, maxRestarts: config.dist.max_restarts,
    onFatal: (_id, reason) => {
      fatal ??= reason;
      coordinatorRef?.fail(reason);
    },
  });
  let stopSignals: (() => void) | null = null;
  try {
    log.info('local cluster starting', { nats: natsUrl, workers: opts.workers, out: opts.out });
    const outcome = await runCoordinator({
      config,
      natsUrl, out: opts.out, resume: opts.resume, allowConfigChange: opts.allowConfigChange, log,
      scaleWorkers: async (n) => {
        pool.grow(n);
        return { ok: true, message: `${n} workers wanted; ${pool.alive.length} running` };
      },
      onReady: async (coordinator, controlUrl) => {
        coordinatorRef = coordinator;
        const stop = () => coordinator.requestStop();
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        stopSignals = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        };
        pool.grow(opts.workers);
        await opts.onReady?.({ coordinator, pool, controlUrl });
      },
    });
    pool.stop();
    await pool.waitAll(30_000);
    // A worker that cannot start (bad data, bad config) is the run's error, not a job state.
    if (fatal) throw new WorkerFailedError(fatal);
    return outcome;
  } finally {
    (stopSignals as (() => void) | null)?.();
    await pool.waitAll(5_000);
    await nats?.stop();
  }
}
