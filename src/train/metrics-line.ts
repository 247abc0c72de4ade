/**
 * @module train/metrics-line
 * One line of RUN/metrics.jsonl: what `instructue status`, the dashboard and /metrics show of a
 * step. The key `epoch` is the *data* epoch of the step's batch (a public format the dashboard
 * reads; in code it is called `dataEpoch` to keep it apart from membership epochs).
 */
import type { StepResult } from './step.js';

export type MetricsLine = Record<string, number | null>;

/** The metrics line of one step of `worldSize` ranks that took `elapsedMs` on this rank. */
export function metricsLine(r: StepResult, dataEpoch: number, elapsedMs: number, worldSize: number): MetricsLine {
  return {
    step: r.step, epoch: dataEpoch, loss: r.loss, loss_lm: r.lossLm, loss_cl: r.lossCl, lr: r.lr, grad_norm: r.gradNorm,
    global_batch: r.globalBatch, world_size: worldSize, tokens: r.tokens, tokens_per_s: (r.tokens * worldSize * 1000) / Math.max(elapsedMs, 1e-9),
    step_ms: elapsedMs, ...Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [`${k}_ms`, v])),
  };
}
