/**
 * @module train/checkpointer
 * When the training state is written (torchtitan's `checkpointer.save`, asked after every step):
 * every `train.checkpoint_every` steps, always at the last step, and on a checkpointed stop.
 * One per trainer — the single process, or rank 0 of a cluster (the ranks are replicas, so one
 * copy is enough). Where and how is `src/train/checkpoint.ts` over the session's store.
 */
import type { Logger } from '../log.js';
import { saveCheckpoint } from './checkpoint.js';
import type { MetricsLine } from './metrics-line.js';
import type { TrainingSession } from './session.js';
import type { TrainCursor } from './train-state.js';

export interface CheckpointerOptions {
  /** The world size written into state.json (informational). */
  worldSize: number;
  /** Called after each save (a rank reports it to the coordinator). */
  onSaved?: (cursor: TrainCursor, path: string) => void;
  log: Logger;
}

export class Checkpointer {
  constructor(private readonly session: TrainingSession, private readonly opts: CheckpointerOptions) {}

  /** Whether step `step` is saved: on the cadence, at the end, or when `force`d (a stop). */
  isDue(step: number, force: boolean): boolean {
    const { checkpoint_every: every, steps: total } = this.session.config.train;
    return force || step === total || (every > 0 && step % every === 0);
  }

  /** Saves the session's current state when due; returns where, or null. */
  async maybeSave(metrics: MetricsLine | null, force = false): Promise<string | null> {
    const step = this.session.stepper.step;
    return this.isDue(step, force) ? this.save(metrics) : null;
  }

  async save(metrics: MetricsLine | null): Promise<string> {
    const { session, opts } = this;
    const state = session.state();
    const path = await saveCheckpoint(session.checkpoints, session.stepper.layout, state, {
      config: session.config, schedule: session.stepper.config.schedule, worldSize: opts.worldSize, metrics,
    });
    opts.log.info('checkpoint saved', { step: state.cursor.step, dir: path });
    opts.onSaved?.(state.cursor, path);
    return path;
  }
}
