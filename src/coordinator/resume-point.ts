/**
 * @module coordinator/resume-point
 * Where a resumed job starts: the newest valid checkpoint whose steps were all committed. Rank 0
 * can have saved a later checkpoint that a crashed coordinator never committed; resuming from
 * it would leave those steps' samples out of consumed.jsonl. The run folder's logs are cut back
 * to the chosen step (the steps after it will be recomputed).
 */
import { existsSync } from 'node:fs';
import { FsCheckpointStore } from '../checkpoint/fs-store.js';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { MetricsLine } from '../control/status.js';
import type { Logger } from '../log.js';
import type { EpochStart } from '../protocol/messages.js';
import { readCheckpointMeta } from '../train/checkpoint.js';
import { readJsonLines, rewindRunLogs, type RunPaths } from '../train/run-dir.js';
import type { TrainCursor } from '../train/train-state.js';
import type { CheckpointRef } from './membership.js';

export interface ResumePoint {
  start: EpochStart;
  committed: { step: number; cursor: TrainCursor | null };
  history: MetricsLine[];
  checkpoint: CheckpointRef | null;
}

export async function findResumePoint(paths: RunPaths, config: Frozen<InstructueConfig>, allowConfigChange: boolean, log: Logger): Promise<ResumePoint> {
  const store = new FsCheckpointStore(paths.checkpoints, config.train.keep_last);
  const logged = existsSync(paths.consumed) ? readJsonLines<{ step: number }>(paths.consumed).reduce((m, l) => Math.max(m, l.step), 0) : Infinity;
  const loaded = await store.latestValid((step, reason) => log.warn('checkpoint is corrupt, trying the previous one', { step, reason }), logged);
  if (!loaded) {
    rewindRunLogs(paths, 0);
    return { start: { kind: 'fresh' }, committed: { step: 0, cursor: null }, history: [], checkpoint: null };
  }
  const meta = readCheckpointMeta(loaded, config, allowConfigChange);
  const cursor: TrainCursor = { step: meta.step, shards: meta.shards };
  rewindRunLogs(paths, meta.step);
  return {
    start: { kind: 'checkpoint', path: loaded.location, cursor },
    committed: { step: meta.step, cursor },
    history: readJsonLines<MetricsLine>(paths.metrics),
    checkpoint: { step: meta.step, path: loaded.location, savedAt: meta.savedAt, cursor },
  };
}
