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
import { decodeTrainingCheckpoint, encodeTrainingCheckpoint, type TrainingState } from '../checkpoint/training-checkpoint.js';
import { CheckpointError } from '../errors.js';
import { VirtualShards } from '../data/shards.js';
import type { Logger } from '../log.js';
import { Progress } from '../cli/progress.js';
import { LocalComm } from './comm.js';
import { appendJsonLine, ensureRunDir, runPaths, truncateAfterStep, type RunPaths } from './run-dir.js';
import { runIdentityHash, TrainingSession } from './session.js';
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

/** The metrics line of one step (also what `instructue status` and the dashboard show). */
export function metricsLine(r: StepResult, epoch: number, elapsedMs: number): Record<string, number | null> {
  return {
    step: r.step, epoch, loss: r.loss, loss_lm: r.lossLm, loss_cl: r.lossCl, lr: r.lr, grad_norm: r.gradNorm,
    global_batch: r.globalBatch, tokens: r.tokens, tokens_per_s: (r.tokens * 1000) / Math.max(elapsedMs, 1e-9),
    step_ms: elapsedMs, ...Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [`${k}_ms`, v])),
  };
}

async function restore(session: TrainingSession, paths: RunPaths, opts: LocalTrainOptions): Promise<number> {
  const store = new FsCheckpointStore(paths.checkpoints, opts.config.train.keep_last);
  const loaded = await store.latestValid((step, reason) => opts.log.warn('checkpoint is corrupt, trying the previous one', { step, reason }));
  if (!loaded) {
    opts.log.info('no checkpoint to resume from; starting fresh', { dir: paths.checkpoints });
    return 0;
  }
  const ckpt = decodeTrainingCheckpoint(session.stepper.layout, loaded.files, loaded.location);
  const hash = runIdentityHash(opts.config);
  if (ckpt.state.configHash !== hash && !opts.allowConfigChange) {
    throw new CheckpointError('CHECKPOINT_MISMATCH', `${loaded.location} was written with a different configuration (model, data or optimisation settings changed). Resume with the original config, or pass --allow-config-change to continue anyway.`);
  }
  session.stepper.fromState({ optimizer: ckpt.optimizer }, ckpt.params);
  session.shards = VirtualShards.fromState(ckpt.state.shards);
  truncateAfterStep(paths.metrics, ckpt.state.step);
  truncateAfterStep(paths.consumed, ckpt.state.step);
  opts.log.info('resumed', { step: ckpt.state.step, from: loaded.location });
  return ckpt.state.step;
}

async function save(session: TrainingSession, paths: RunPaths, opts: LocalTrainOptions, step: number, metrics: Record<string, number | null> | null): Promise<string> {
  const state: TrainingState = {
    format: 'instructue-train-state/1',
    step,
    configHash: runIdentityHash(opts.config),
    schedule: session.stepper.config.schedule,
    shards: session.shards.toState(),
    rng: { seed: opts.config.seed },
    worldSize: 1,
    savedAt: new Date().toISOString(),
    lastMetrics: metrics,
  };
  const files = encodeTrainingCheckpoint(session.stepper.layout, { params: session.stepper.parameters, optimizer: session.stepper.toState().optimizer, state });
  const store = new FsCheckpointStore(paths.checkpoints, opts.config.train.keep_last);
  const where = await store.save(step, files);
  opts.log.info('checkpoint saved', { step, dir: where });
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
    let lastMetrics: Record<string, number | null> | null = null;
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
      if ((every > 0 && step % every === 0) || step === total || stop) checkpoint = await save(session, paths, opts, step, lastMetrics);
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
