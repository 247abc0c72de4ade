/**
 * @module train/local-trainer
 * Single-process training (world size 1): the training loop of every rank with a `LocalComm`,
 * plus the run folder's logs, resume, and a stop request (SIGINT/SIGTERM in the CLI) that
 * finishes the current step, saves a checkpoint and returns.
 */
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { decodeCheckpoint, readCheckpointMeta } from './checkpoint.js';
import { Checkpointer } from './checkpointer.js';
import { LocalComm } from './comm.js';
import { appendJsonLine, ensureRunDir, rewindRunLogs, runPaths, writeRunConfig, type RunPaths } from './run-dir.js';
import { TrainingSession } from './session.js';
import type { StepResult } from './step.js';
import { trainLoop, type StepDone } from './train-loop.js';

export interface LocalTrainOptions {
  config: Frozen<InstructueConfig>;
  out: string;
  resume: boolean;
  allowConfigChange: boolean;
  log: Logger;
  /** Called after every step (the CLI draws its progress line from it). */
  onStep?: (done: StepDone, totalSteps: number) => void;
  /** Called once the starting step is known (0, or the resumed step). */
  onStart?: (step: number, totalSteps: number) => void;
  /** Checked after every step; true = checkpoint and stop. */
  shouldStop?: () => boolean;
}

export interface LocalTrainResult {
  step: number;
  stoppedEarly: boolean;
  last: StepResult | null;
  checkpoint: string | null;
}

/** Continues from the newest valid checkpoint of the run folder, if any; returns its step. */
async function restore(session: TrainingSession, paths: RunPaths, opts: LocalTrainOptions): Promise<number> {
  const loaded = await session.checkpoints.latestValid((step, reason) => opts.log.warn('checkpoint is corrupt, trying the previous one', { step, reason }));
  if (!loaded) {
    opts.log.info('no checkpoint to resume from; starting fresh', { dir: paths.checkpoints });
    return 0;
  }
  const meta = readCheckpointMeta(loaded, opts.config, opts.allowConfigChange);
  session.load(decodeCheckpoint(session.stepper.layout, loaded, meta));
  rewindRunLogs(paths, meta.step);
  opts.log.info('resumed', { step: meta.step, from: loaded.location });
  return meta.step;
}

export async function trainLocal(opts: LocalTrainOptions): Promise<LocalTrainResult> {
  const { config, log } = opts;
  const paths = runPaths(opts.out);
  ensureRunDir(paths);
  writeRunConfig(paths, config);
  const session = await TrainingSession.create(config, { runDir: opts.out, log });
  try {
    const start = opts.resume ? await restore(session, paths, opts) : 0;
    const total = config.train.steps;
    opts.onStart?.(start, total);
    let checkpoint: string | null = null;
    const checkpointer = new Checkpointer(session, { worldSize: 1, log, onSaved: (_cursor, path) => (checkpoint = path) });
    const outcome = await trainLoop(session, checkpointer, {
      comm: new LocalComm(),
      afterStep: (done) => {
        const { step } = done.result;
        appendJsonLine(paths.consumed, { epoch: done.dataEpoch, step, rank: 0, ids: done.ids });
        if (step % config.train.log_every === 0 || step === total) appendJsonLine(paths.metrics, done.metrics);
        opts.onStep?.(done, total);
      },
      stopAfter: () => {
        const stop = opts.shouldStop?.() ?? false;
        return { stop, checkpoint: stop };
      },
    });
    if (outcome.kind === 'stopped') log.info('stopped on request after a checkpoint', { step: session.stepper.step });
    return { step: session.stepper.step, stoppedEarly: outcome.kind === 'stopped', last: outcome.last?.result ?? null, checkpoint };
  } finally {
    await session.close();
  }
}
