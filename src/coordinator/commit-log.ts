/**
 * @module coordinator/commit-log
 * Writes a committed step to the run folder: its consumed ids to RUN/consumed.jsonl (one line
 * per rank, rank order) and rank 0's metrics line to RUN/metrics.jsonl, stamped with the commit
 * time. Which steps are committed, and when, is decided in `membership.ts`; rolled-back steps
 * are never committed, so they never appear here — the exactly-once record of every sample.
 */
import type { MetricsLine } from '../train/metrics-line.js';
import { appendJsonLine, type RunPaths } from '../train/run-dir.js';
import type { StepDone } from './membership.js';

/** Appends the step's lines; returns the metrics line as written (null when rank 0 sent none). */
export function writeCommit(paths: RunPaths, reports: readonly StepDone[], metrics: MetricsLine | null, now: number): MetricsLine | null {
  for (const r of reports) appendJsonLine(paths.consumed, { epoch: r.dataEpoch, step: r.step, rank: r.rank, ids: r.ids });
  // The commit time makes stalls visible in the log (and plots over wall time possible).
  const line = metrics ? { ...metrics, committed_at: now } : null;
  if (line) appendJsonLine(paths.metrics, line);
  return line;
}
