/**
 * @module train/local-trainer
 * Single-process training (world size 1): the same session and step the distributed workers
 * run, plus the run folder, metrics, checkpoints and resume. A stop request (SIGINT/SIGTERM in
 * the CLI) finishes the current step, saves a checkpoint and returns.
 */
import { writeFileSync } from 'node:fs';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import { FsCheckpointStore } from '../checkpoint/fs-store.js';
import { VirtualShards } from '../data/shards.js';
import type { Logger } from '../log.js';
import { Progress } from '../cli/progress.js';
import { LocalComm } from './comm.js';
import { appendJsonLine, ensureRunDir, runPaths, truncateAfterStep, type RunPaths } from './run-dir.js';
import { decodeForRun, metricsLine, saveCheckpoint } from './checkpointing.js';
import { TrainingSession } from './session.js';
import type { MetricsLine } from '../control/status.js';
import type { StepResult } from './step.js';

export interface LocalTrainOptions {
  config: Frozen<InstructueConfig>;
  out: string;
  resume: boolean;
  allowConfigChange: boolean;
  log: Logger;
  /** Show a progress line on stderr. */
  progress: boolean;
  /** Checked after every step; true = checkpoint and stop. */
  shouldStop?: () => boolean;
}

export interface LocalTrainResult {
  step: number;
  stoppedEarly: boolean;
  last: StepResult | null;
  checkpoint: string | null;
}

async function restore(session: TrainingSession, paths: RunPaths, opts: LocalTrainOptions): Promise<number> {
  const store = new FsCheckpointStore(paths.checkpoints, opts.config.train.keep_last);
  const loaded = await store.latestValid((step, reason) => opts.log.warn('checkpoint is corrupt, trying the previous one', { step, reason }));
  if (!loaded) {
    opts.log.info('no checkpoint to resume from; starting fresh', { dir: paths.checkpoints });
    return 0;
  }
  const ckpt = decodeForRun(loaded, session.stepper, opts.config, opts.allowConfigChange);
  session.stepper.fromState({ optimizer: ckpt.optimizer }, ckpt.params);
  session.shards = VirtualShards.fromState(ckpt.state.shards);
  truncateAfterStep(paths.metrics, ckpt.state.step);
  truncateAfterStep(paths.consumed, ckpt.state.step);
  opts.log.info('resumed', { step: ckpt.state.step, from: loaded.location });
  return ckpt.state.step;
}

async function save(session: TrainingSession, paths: RunPaths, opts: LocalTrainOptions, metrics: MetricsLine | null): Promise<string> {
  const store = new FsCheckpointStore(paths.checkpoints, opts.config.train.keep_last);
  const where = await saveCheckpoint({ store, stepper: session.stepper, shards: session.shards.toState(), config: opts.config, worldSize: 1, metrics });
  opts.log.info('checkpoint saved', { step: session.stepper.step, dir: where });
  return where;
}

export async function trainLocal(opts: LocalTrainOptions): Promise<LocalTrainResult> {
  const { config, log } = opts;
  const paths = runPaths(opts.out);
  ensureRunDir(paths);
  writeFileSync(paths.config, JSON.stringify(config, null, 2) + '\n');
  const session = await TrainingSession.create(config, new LocalComm(), log);
  try {
    let step = opts.resume ? await restore(session, paths, opts) : 0;
    const total = config.train.steps;
    const progress = opts.progress ? new Progress({ label: 'train', total }, step) : null;
    let last: StepResult | null = null;
    let lastMetrics: MetricsLine | null = null;
    let checkpoint: string | null = null;
    let stoppedEarly = false;
    while (step < total) {
      const started = performance.now();
      const batch = session.shards.next(config.train.global_batch, 1);
      const samples = await session.encode(batch.perRank[0]!);
      last = await session.stepper.run(samples);
      step = last.step;
      lastMetrics = metricsLine(last, batch.epoch, performance.now() - started);
      appendJsonLine(paths.consumed, { epoch: batch.epoch, step, rank: 0, ids: batch.perRank[0]!.map((i) => session.dataset.id(i)) });
      if (step % config.train.log_every === 0 || step === total) appendJsonLine(paths.metrics, lastMetrics);
      progress?.update(step, { loss_lm: last.lossLm, loss_cl: last.lossCl, 'tok/s': Math.round(lastMetrics.tokens_per_s!) });
      const stop = opts.shouldStop?.() ?? false;
      const every = config.train.checkpoint_every;
      if ((every > 0 && step % every === 0) || step === total || stop) checkpoint = await save(session, paths, opts, lastMetrics);
      if (stop && step < total) {
        stoppedEarly = true;
        log.info('stopped on request after a checkpoint', { step });
        break;
      }
    }
    return { step, stoppedEarly, last, checkpoint };
  } finally {
    await session.close();
  }
}
