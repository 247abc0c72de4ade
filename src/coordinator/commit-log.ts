/**
 * @module coordinator/commit-log
 * Step reports → committed steps. A step is committed when every rank of the current epoch has
 * reported it done; only then do its lines go to RUN/consumed.jsonl (one per rank, rank order)
 * and RUN/metrics.jsonl (rank 0's line). Rolled-back steps were never committed, so they never
 * appear in the logs — the exactly-once record of every sample.
 */
import type { MetricsLine } from '../control/status.js';
import type { WorkerEvent } from '../protocol/messages.js';
import type { TrainCursor } from '../train/train-state.js';
import { appendJsonLine, type RunPaths } from '../train/run-dir.js';

export type StepDone = Extract<WorkerEvent, { type: 'step.done' }>;

export interface Commit {
  step: number;
  cursor: TrainCursor | null;
  metrics: MetricsLine | null;
}

export class CommitLog {
  private readonly pending = new Map<number, StepDone[]>();

  constructor(private readonly paths: RunPaths) {}

  /** Forgets reports of an abandoned epoch. */
  reset(): void {
    this.pending.clear();
  }

  /** Records a report; returns the commit when it completes step `report.step` for `worldSize` ranks. */
  add(report: StepDone, worldSize: number): Commit | null {
    const reports = this.pending.get(report.step) ?? [];
    if (reports.some((r) => r.rank === report.rank)) return null;
    reports.push(report);
    this.pending.set(report.step, reports);
    if (reports.length < worldSize) return null;
    this.pending.delete(report.step);
    reports.sort((a, b) => a.rank - b.rank);
    for (const r of reports) appendJsonLine(this.paths.consumed, { epoch: r.dataEpoch, step: r.step, rank: r.rank, ids: r.ids });
    const root = reports[0]!;
    // The commit time makes stalls visible in the log (and plots over wall time possible).
    const metrics = root.metrics ? { ...root.metrics, committed_at: Date.now() } : null;
    if (metrics) appendJsonLine(this.paths.metrics, metrics);
    return { step: report.step, cursor: root.cursor, metrics };
  }
}
