/**
 * @module train/checkpointing
 * Saving and loading the training state of a session through a CheckpointStore: one code path
 * for the single-process trainer and for rank 0 of a distributed run.
 */
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { CheckpointStore, LoadedCheckpoint } from '../checkpoint/store.js';
import { decodeTrainingCheckpoint, encodeTrainingCheckpoint, type TrainingCheckpoint, type TrainingState } from '../checkpoint/training-checkpoint.js';
import { CheckpointError } from '../errors.js';
import type { ShardState } from '../data/shards.js';
import type { MetricsLine } from '../control/status.js';
import { runIdentityHash } from './session.js';
import type { StepResult, Stepper } from './step.js';

/** The metrics line of one step (metrics.jsonl, `instructue status`, the dashboard). */
export function metricsLine(r: StepResult, epoch: number, elapsedMs: number, worldSize = 1): MetricsLine {
  return {
    step: r.step, epoch, loss: r.loss, loss_lm: r.lossLm, loss_cl: r.lossCl, lr: r.lr, grad_norm: r.gradNorm,
    global_batch: r.globalBatch, world_size: worldSize, tokens: r.tokens, tokens_per_s: (r.tokens * worldSize * 1000) / Math.max(elapsedMs, 1e-9),
    step_ms: elapsedMs, ...Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [`${k}_ms`, v])),
  };
}

export interface SaveArgs {
  store: CheckpointStore;
  stepper: Stepper;
  shards: ShardState;
  config: Frozen<InstructueConfig>;
  worldSize: number;
  metrics: MetricsLine | null;
}

export async function saveCheckpoint(a: SaveArgs): Promise<string> {
  const state: TrainingState = {
    format: 'instructue-train-state/1',
    step: a.stepper.step,
    configHash: runIdentityHash(a.config),
    schedule: a.stepper.config.schedule,
    shards: a.shards,
    rng: { seed: a.config.seed },
    worldSize: a.worldSize,
    savedAt: new Date().toISOString(),
    lastMetrics: a.metrics,
  };
  const files = encodeTrainingCheckpoint(a.stepper.layout, { params: a.stepper.parameters, optimizer: a.stepper.toState().optimizer, state });
  return a.store.save(state.step, files);
}

/** Decodes a loaded checkpoint for `stepper`'s model, refusing a changed run unless allowed. */
export function decodeForRun(loaded: LoadedCheckpoint, stepper: Stepper, config: Frozen<InstructueConfig>, allowConfigChange: boolean): TrainingCheckpoint {
  const ckpt = decodeTrainingCheckpoint(stepper.layout, loaded.files, loaded.location);
  if (ckpt.state.configHash !== runIdentityHash(config) && !allowConfigChange) {
    throw new CheckpointError('CHECKPOINT_MISMATCH', `${loaded.location} was written with a different configuration (model, data or optimisation settings changed). Resume with the original config, or pass --allow-config-change to continue anyway.`);
  }
  return ckpt;
}
