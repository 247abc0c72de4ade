/**
 * @module launcher/local-cluster
 * `instructue train --workers N`: a whole cluster on this machine — nats-server from PATH on a
 * free loopback port, or a cluster of `dist.nats_cluster_size` servers (unless --nats names
 * servers), the coordinator in this process, and N worker processes. SIGINT/SIGTERM → a
 * checkpointed stop; `instructue scale` → more or fewer workers. Its own servers refuse clients
 * without credentials: every worker gets a NATS user of its own and the coordinator another
 * (`nats-identities.ts`, docs/security.md).
 */
import { join } from 'node:path';
import { loadConfig, type Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { Coordinator, JobOutcome } from '../coordinator/coordinator.js';
import { runCoordinator } from '../coordinator/run.js';
import { checkLocalWorkers, checkMemory, LAUNCHER_BYTES } from '../train/preflight.js';
import { acquireRunLock } from '../train/run-lock.js';
import { startNatsCluster } from '../transport/nats-server.js';
import type { Logger } from '../log.js';
import { WorkerFailedError } from '../errors.js';
import { checkRunLengthBudget } from '../train/length-check.js';
import { launcherIdentities } from './nats-identities.js';
import { WorkerPool } from './worker-pool.js';

export interface LocalClusterOptions {
  config: Frozen<InstructueConfig>;
  out: string;
  workers: number;
  /** Existing NATS server(s), comma-separated; empty = start `dist.nats_cluster_size` of them. */
  natsUrl: string;
  resume: boolean;
  allowConfigChange: boolean;
  /** Refuse to start when a length budget cuts more than 1 % of the records (else a warning). */
  failOnTruncation?: boolean;
  /** Resume even if the training data changed (--allow-data-change). */
  allowDataChange?: boolean;
  log: Logger;
  /** Called when the coordinator is up (the CLI draws its progress from it; tests reach the pool and coordinator). */
  onReady?: (cluster: LocalCluster) => void | Promise<void>;
}

export interface LocalCluster {
  coordinator: Coordinator;
  pool: WorkerPool;
  controlUrl: string;
  /** The NATS server(s) the cluster runs on (comma-separated). */
  natsUrl: string;
}

/**
 * Runs the local cluster after the preflight (worker count, memory of all local workers) and
 * holding the run folder's lock (RUN/.lock) throughout; the coordinator runs in this process, so
 * this is the one place the lock is taken. Nothing starts when either refuses.
 * @throws ConfigError (preflight), RunLockedError
 */
export async function trainCluster(opts: LocalClusterOptions): Promise<JobOutcome> {
  checkLocalWorkers(opts.config, opts.workers);
  await checkMemory(opts.config, { processes: opts.workers, worldSize: opts.workers, extraBytes: LAUNCHER_BYTES, log: opts.log });
  const lock = acquireRunLock(opts.out, { log: opts.log });
  try {
    return await runCluster(opts);
  } finally {
    lock.release();
  }
}

async function runCluster(opts: LocalClusterOptions): Promise<JobOutcome> {
  const { log } = opts;
  // Validated again with the worker count, so `--workers` above data.virtual_shards fails here.
  const checked = loadConfig({ object: opts.config, overrides: { 'dist.workers': opts.workers }, env: {} });
  await checkRunLengthBudget(checked, log, { failOnTruncation: opts.failOnTruncation ?? false });
  const ids = launcherIdentities(checked, !opts.natsUrl, log);
  // The coordinator logs in as itself (generated credentials live in memory only; the run
  // folder's config.json shows sensitive keys as "<set>").
  const config = !ids.perWorker || checked.dist.nats_user
    ? checked
    : loadConfig({ object: checked, overrides: { 'dist.nats_user': ids.coordinator.nats_user, 'dist.nats_pass': ids.coordinator.nats_pass }, env: {} });
  const nats = opts.natsUrl ? null : await startNatsCluster({ size: config.dist.nats_cluster_size, jetstream: true, auth: ids.serverAuth, maxPayload: config.dist.nats_max_payload, log });
  const natsUrl = opts.natsUrl || nats!.url;
  let fatal: string | null = null;
  let coordinatorRef: Coordinator | null = null;
  const devices = String(config.cuda.worker_devices).split(',').filter(Boolean);
  const pool = new WorkerPool({
    natsUrl, job: config.dist.job, logDir: join(opts.out, 'logs'), log, maxRestarts: config.dist.max_restarts, devices, identity: (id) => ids.workerEnv(id),
    onFatal: (_id, reason) => {
      fatal ??= reason;
      coordinatorRef?.fail(reason);
    },
  });
  let stopSignals: (() => void) | null = null;
  try {
    log.info('local cluster starting', { nats: natsUrl, workers: opts.workers, out: opts.out, natsIdentities: ids.perWorker ? 'per worker' : ids.serverAuth || config.dist.nats_user || config.dist.nats_token ? 'shared' : 'none' });
    const outcome = await runCoordinator({
      config,
      natsUrl, out: opts.out, resume: opts.resume, allowConfigChange: opts.allowConfigChange, allowDataChange: opts.allowDataChange ?? false, log,
      scaleWorkers: async (n) => {
        try {
          checkLocalWorkers(config, n);
        } catch (err) {
          return { ok: false, message: (err as Error).message };
        }
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
        await opts.onReady?.({ coordinator, pool, controlUrl, natsUrl });
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
