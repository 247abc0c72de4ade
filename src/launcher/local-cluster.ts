/**
 * @module launcher/local-cluster
 * `instructue train --workers N`: a whole cluster on this machine — nats-server from PATH on a
 * free loopback port, or a cluster of `dist.nats_cluster_size` servers (unless --nats names
 * servers), the coordinator in this process, and N worker processes. SIGINT/SIGTERM → a
 * checkpointed stop; `instructue scale` → more or fewer workers.
 */
import { join } from 'node:path';
import { Progress } from '../cli/progress.js';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { Coordinator, JobOutcome } from '../coordinator/coordinator.js';
import { runCoordinator } from '../coordinator/run.js';
import { natsAuth } from '../transport/nats-credentials.js';
import { startNatsCluster } from '../transport/nats-server.js';
import type { Logger } from '../log.js';
import { WorkerPool } from './worker-pool.js';

export interface LocalClusterOptions {
  config: Frozen<InstructueConfig>;
  out: string;
  workers: number;
  /** Existing NATS server(s), comma-separated; empty = start `dist.nats_cluster_size` of them. */
  natsUrl: string;
  resume: boolean;
  allowConfigChange: boolean;
  progress: boolean;
  log: Logger;
  /** Called when the coordinator is up (tests reach the pool and coordinator through it). */
  onReady?: (cluster: { coordinator: Coordinator; pool: WorkerPool; controlUrl: string }) => void | Promise<void>;
}

export async function trainCluster(opts: LocalClusterOptions): Promise<JobOutcome> {
  const { config, log } = opts;
  // With credentials configured (dist.nats_*), the servers require them too.
  const nats = opts.natsUrl ? null : await startNatsCluster({ size: config.dist.nats_cluster_size, jetstream: true, auth: natsAuth(config.dist), maxPayload: config.dist.nats_max_payload, log });
  const natsUrl = opts.natsUrl || nats!.url;
  const pool = new WorkerPool({ natsUrl, job: config.dist.job, logDir: join(opts.out, 'logs'), log });
  let stopSignals: (() => void) | null = null;
  try {
    log.info('local cluster starting', { nats: natsUrl, workers: opts.workers, out: opts.out });
    const outcome = await runCoordinator({
      config: { ...config, dist: { ...config.dist, workers: opts.workers } } as Frozen<InstructueConfig>,
      natsUrl, out: opts.out, resume: opts.resume, allowConfigChange: opts.allowConfigChange, log,
      scaleWorkers: async (n) => {
        pool.grow(n);
        return { ok: true, message: `${n} workers wanted; ${pool.alive.length} running` };
      },
      onReady: async (coordinator, controlUrl) => {
        const token = config.control.token ? `#token=${encodeURIComponent(config.control.token)}` : '';
        if (opts.progress) process.stderr.write(`dashboard: ${controlUrl}/${token}   (instructue status --url ${controlUrl})\n`);
        const stop = () => coordinator.requestStop();
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        stopSignals = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        };
        if (opts.progress) {
          const progress = new Progress({ label: 'train', total: config.train.steps }, coordinator.status().step);
          coordinator.onStatusEvent((e) => {
            if (e.type !== 'metrics') return;
            const w = coordinator.status().workers.filter((x) => x.state === 'training').length;
            progress.update(Number(e.line.step), { loss_lm: e.line.loss_lm ?? null, loss_cl: e.line.loss_cl ?? null, 'tok/s': Math.round(Number(e.line.tokens_per_s)), workers: w });
          });
        }
        pool.grow(opts.workers);
        await opts.onReady?.({ coordinator, pool, controlUrl });
      },
    });
    await pool.waitAll(30_000);
    return outcome;
  } finally {
    (stopSignals as (() => void) | null)?.();
    await pool.waitAll(5_000);
    await nats?.stop();
  }
}
