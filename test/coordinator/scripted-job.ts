/**
 * A scripted job for the metrics tests: the real membership decisions (`decide`) fed a fixed
 * story of events, each decision recorded into a `JobMetrics` the way the coordinator's shell
 * does. The story: two workers train steps 1–3 (retried reports, one arriving late, a retried checkpoint report),
 * w1 goes silent and is dropped (rollback "lost"), re-joins as a new process (its collective
 * figures start again) and is taken in at a step boundary; a collective fault (rollback
 * "fault"); then both go silent, nobody holds the committed state and the job rewinds to the
 * checkpoint of step 2; w0 re-joins, then joins again from inside its epoch (rollback "rejoined").
 */
import { JobMetrics } from '../../src/coordinator/job-metrics.js';
import { decide, initialView, type JobView, type MembershipEvent, type MembershipPolicy, type StepDone } from '../../src/coordinator/membership.js';
import type { CollectiveCounts, WorkerEvent } from '../../src/protocol/messages.js';
import type { TrainCursor } from '../../src/train/train-state.js';

export const policy: MembershipPolicy = {
  workerTimeoutMs: 3000, noWorkersTimeoutMs: 600_000, maxWorkers: 8, totalSteps: 100, keepLast: 3,
  checkpointPath: (step) => `/run/checkpoints/step-${step}`, maxFailedStarts: 3, retryBaseMs: 500, resendAfterMs: 900,
};

const cursor = (step: number): TrainCursor => ({ step, shards: { numSamples: 40, virtualShards: 8, seed: 1, epoch: 0, cursors: new Array(8).fill(step) } });

/** Rank 0's metrics line of a step: 0.5 s, of which the phases below. */
export const ROOT_TIMINGS = { step_ms: 500, prepare_ms: 10, pass1_ms: 100, gather_ms: 20, loss_ms: 5, pass2_ms: 300, allReduce_ms: 50, optimizer_ms: 15 };

const counts = (retransmitRequests: number, timeouts: number, aborts: number, bytesSent: number, bytesReceived: number): CollectiveCounts => ({ retransmitRequests, timeouts, aborts, bytesSent, bytesReceived });

export interface ScriptedJob {
  metrics: JobMetrics;
  view: JobView;
}

/** Runs the story; returns the metrics and the last view. */
export function scriptedJob(): ScriptedJob {
  const metrics = new JobMetrics();
  metrics.startedWithResumes(0);
  let view = initialView({ kind: 'fresh' }, 2, 0, { step: 0, cursor: null }, []);
  const apply = (event: MembershipEvent, message?: WorkerEvent) => {
    const before = view;
    const t = decide(view, event, policy);
    view = t.view;
    metrics.record({ event, message, before, after: view, actions: t.actions });
  };
  const join = (id: string, pid: number, now: number) => apply({ kind: 'join', id, host: 'h', pid, backend: 'wasm', now });
  const done = (id: string, rank: number, step: number, now: number, c: CollectiveCounts, figures: { computeMs: number; waitMs: number; tokens: number }) => {
    const report: StepDone = {
      type: 'step.done', workerId: id, epoch: view.current!.epoch, rank, step, dataEpoch: 0, ids: [`${id}-${step}-a`, `${id}-${step}-b`, `${id}-${step}-c`, `${id}-${step}-d`],
      metrics: rank === 0 ? { step, ...ROOT_TIMINGS } : null, cursor: rank === 0 ? cursor(step) : null, ...figures, collectives: c,
    };
    apply({ kind: 'step.done', report, now }, report);
  };
  const saved = (id: string, step: number, now: number) => {
    const message: WorkerEvent = { type: 'checkpoint.saved', workerId: id, epoch: view.current!.epoch, step, path: `/run/checkpoints/step-${step}`, cursor: cursor(step), bytes: 5000, saveMs: 250 };
    apply({ kind: 'checkpoint.saved', id, epoch: message.epoch, step, path: message.path, cursor: message.cursor, now }, message);
  };
  const heartbeat = (id: string, now: number) => apply({ kind: 'heartbeat', id, epoch: view.current?.epoch ?? 0, backend: 'wasm', now });
  const tick = (now: number) => apply({ kind: 'tick', now });
  const w0 = { computeMs: 430, waitMs: 70, tokens: 100 };
  const w1 = { computeMs: 480, waitMs: 20, tokens: 90 };

  // Epoch 1: w0 rank 0, w1 rank 1; steps 1 and 2 (w1's step-2 report is retried), checkpoint 2 (its report retried).
  join('w0', 100, 0);
  join('w1', 200, 10);
  done('w0', 0, 1, 100, counts(1, 0, 0, 1000, 900), w0);
  done('w1', 1, 1, 110, counts(0, 0, 0, 900, 1000), w1);
  done('w0', 0, 2, 200, counts(1, 0, 0, 2000, 1800), w0);
  done('w1', 1, 2, 210, counts(2, 0, 0, 1800, 2000), w1);
  done('w1', 1, 2, 220, counts(2, 0, 0, 1800, 2000), w1);
  saved('w0', 2, 230);
  saved('w0', 2, 240);
  // Step 3 committed; then w1 falls silent: dropped at the first tick past 3 s (rollback "lost") → epoch 2 with w0.
  done('w0', 0, 3, 300, counts(1, 0, 0, 3000, 2700), w0);
  done('w1', 1, 3, 310, counts(2, 0, 0, 2700, 3000), w1);
  // An older report of the same process arriving late changes no figure.
  done('w1', 1, 2, 320, counts(2, 0, 0, 1800, 2000), w1);
  for (let now = 500; now <= 3500; now += 500) {
    heartbeat('w0', now - 10);
    tick(now);
  }
  // w1 comes back as a new process (its figures restart) and is taken in at a step boundary → epoch 3.
  join('w1', 201, 3600);
  apply({ kind: 'paused', id: 'w0', epoch: view.current!.epoch, step: 3, leaving: false, now: 3700 });
  // Epoch 3: step 4 (w1's new process reports small figures; w0 timed out once meanwhile), then a fault → epoch 4.
  done('w0', 0, 4, 3800, counts(1, 1, 2, 4000, 3600), w0);
  done('w1', 1, 4, 3810, counts(0, 0, 0, 300, 400), w1);
  apply({ kind: 'fault', id: 'w0', epoch: view.current!.epoch, silentRanks: [], message: 'collective all-reduce timed out', now: 3900 });
  // Both fall silent: lost at the tick past 3 s; no survivor holds step 4, so the job rewinds to checkpoint 2.
  for (let now = 4000; now <= 7500; now += 500) tick(now);
  // w0 re-joins (same process) and trains from the checkpoint: epoch 5.
  join('w0', 100, 7600);
  // w0 joins again from inside epoch 5 (it stopped hearing the coordinator): rollback "rejoined";
  // the epoch had not committed, so the next one starts after a backoff, from the checkpoint: epoch 6.
  join('w0', 100, 7700);
  tick(8700);
  return { metrics, view };
}
