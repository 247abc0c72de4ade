/**
 * @module coordinator/resume-point
 * Where a resumed job starts: the newest valid checkpoint whose steps were all committed. Rank 0
 * can have saved a later checkpoint that a crashed coordinator never committed; resuming from
 * it would leave those steps' samples out of consumed.jsonl. The run folder's logs are cut back
 * to the chosen step (the steps after it will be recomputed).
 */
import { existsSync } from 'node:fs';
import { FsCheckpointStore } from '../checkpoint/fs-store.js';
import { STATE_FILE, type TrainingState } from '../checkpoint/training-checkpoint.js';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { CheckpointInfo, MetricsLine } from '../control/status.js';
import type { EpochStart, TrainCursor } from '../protocol/messages.js';
import { CheckpointError } from '../errors.js';
import type { Logger } from '../log.js';
import { readJsonLines, truncateAfterStep, type RunPaths } from '../train/run-dir.js';
import { runIdentityHash } from '../train/session.js';

export interface ResumePoint {
  start: EpochStart;
  committed: { step: number; cursor: TrainCursor | null };
  history: MetricsLine[];
  checkpoint: CheckpointInfo | null;
}

export async function findResumePoint(paths: RunPaths, config: Frozen<InstructueConfig>, allowConfigChange: boolean, log: Logger): Promise<ResumePoint> {
  const store = new FsCheckpointStore(paths.checkpoints, config.train.keep_last);
  const logged = existsSync(paths.consumed) ? readJsonLines<{ step: number }>(paths.consumed).reduce((m, l) => Math.max(m, l.step), 0) : Infinity;
  const loaded = await store.latestValid((step, reason) => log.warn('checkpoint is corrupt, trying the previous one', { step, reason }), logged);
  if (!loaded) {
    truncateAfterStep(paths.consumed, 0);
    truncateAfterStep(paths.metrics, 0);
    return { start: { kind: 'fresh' }, committed: { step: 0, cursor: null }, history: [], checkpoint: null };
  }
  const state = JSON.parse(new TextDecoder().decode(loaded.files.get(STATE_FILE))) as TrainingState;
  if (state.configHash !== runIdentityHash(config) && !allowConfigChange) {
    throw new CheckpointError('CHECKPOINT_MISMATCH', `${loaded.location} was written with a different configuration. Resume with the original config, or pass --allow-config-change.`);
  }
  const cursor: TrainCursor = { step: state.step, optimizerStep: state.step, shards: state.shards };
  truncateAfterStep(paths.consumed, state.step);
  truncateAfterStep(paths.metrics, state.step);
  return {
    start: { kind: 'checkpoint', path: loaded.location, cursor },
    committed: { step: state.step, cursor },
    history: readJsonLines<MetricsLine>(paths.metrics),
    checkpoint: { step: state.step, path: loaded.location, savedAt: state.savedAt },
  };
}
