/**
 * @module train/train-loop
 * The training loop, written once for the single process and for every rank of a cluster
 * (nanoGPT's one loop, torchtitan's `train()`):
 *
 *   until the last step: draw the step's global batch from the replicated data position,
 *   encode this rank's slice, run the exact step (src/train/step.ts), hand the result to the
 *   caller, save a checkpoint when the checkpointer says so, stop where the caller says.
 *
 * What differs between a process and a rank comes in through `LoopHooks`: a process logs the
 * step to the run folder and draws its progress line, a rank reports to the coordinator and
 * compares replica checksums; a process stops on SIGTERM, a rank when any rank's pause flag
 * arrives summed in the all-reduce.
 */
import { performance } from 'node:perf_hooks';
import type { Checkpointer } from './checkpointer.js';
import { rankMicroBatches } from './micro-batches.js';
import type { StepComm } from './comm.js';
import { metricsLine, type MetricsLine } from './metrics-line.js';
import type { TrainingSession } from './session.js';
import type { StepResult } from './step.js';

/** One finished step, as the loop hands it to its caller. */
export interface StepDone {
  result: StepResult;
  /** Data epoch of the step's batch. */
  dataEpoch: number;
  /** The sample ids this rank trained on. */
  ids: string[];
  metrics: MetricsLine;
  elapsedMs: number;
}

export interface LoopHooks {
  /** The world this rank steps in (`LocalComm` for one process). */
  comm: StepComm;
  /** Control values sent along with this step's gradients; `result.signals` holds their sums over ranks. */
  signals?: () => Float32Array;
  /** After each step, before any checkpoint: log, report, check replicas. */
  afterStep(done: StepDone): void | Promise<void>;
  /** Whether to stop after this step, and whether that stop is checkpointed. */
  stopAfter(done: StepDone): { stop: boolean; checkpoint: boolean };
  /** Checked before each step: true abandons the loop at once (a superseded membership epoch). */
  abandoned?(): boolean;
}

export interface LoopOutcome {
  /** `finished`: the last step is done; `stopped`: `stopAfter` asked; `abandoned`: `abandoned()` did. */
  kind: 'finished' | 'stopped' | 'abandoned';
  last: StepDone | null;
}

export async function trainLoop(session: TrainingSession, checkpointer: Checkpointer | null, hooks: LoopHooks): Promise<LoopOutcome> {
  const { config, stepper } = session;
  const { comm } = hooks;
  const total = config.train.steps;
  let last: StepDone | null = null;
  while (stepper.step < total) {
    if (hooks.abandoned?.()) return { kind: 'abandoned', last };
    const started = performance.now();
    const batch = session.shards.next(config.train.global_batch, comm.worldSize);
    const chunks = rankMicroBatches(batch.global, session.microBatch, comm.worldSize, comm.rank);
    const indices = chunks.flat();
    const encoded = await session.encode(indices);
    let at = 0;
    const result = await stepper.run(chunks.map((c) => encoded.slice(at, (at += c.length))), comm, hooks.signals?.());
    const elapsedMs = performance.now() - started;
    last = { result, dataEpoch: batch.dataEpoch, ids: indices.map((i) => session.dataset.id(i)), metrics: metricsLine(result, batch.dataEpoch, elapsedMs, comm.worldSize), elapsedMs };
    await hooks.afterStep(last);
    const { stop, checkpoint } = hooks.stopAfter(last);
    await checkpointer?.maybeSave(last.metrics, stop && checkpoint);
    if (stop && result.step < total) return { kind: 'stopped', last };
  }
  // A run with nothing left to do (`--steps 0`: the untrained reference) still ends on a
  // checkpoint of its final step, so `embed` and the coordinator's finish rule find one.
  if (checkpointer && !(await session.checkpoints.steps()).includes(stepper.step)) await checkpointer.save(last?.metrics ?? null);
  return { kind: 'finished', last };
}
