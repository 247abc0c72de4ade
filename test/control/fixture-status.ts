/**
 * A fixed JobStatus and metrics history for the control-server tests: two workers (one a
 * straggler), one checkpoint, the metrics keys the trainer writes (src/train/local-trainer.ts).
 */
import type { JobStatus, MetricsLine } from '../../src/control/status.js';

export const NOW = Date.parse('2026-11-26T12:00:30Z');

export function metricsAt(step: number): MetricsLine {
  return {
    step, epoch: 0, loss: 2 - step / 20, loss_lm: 1.5 - step / 40, loss_cl: 0.5 - step / 40, lr: 0.003 * Math.min(1, step / 4),
    grad_norm: 1.25, global_batch: 8, tokens: 512, tokens_per_s: 1000 + step, step_ms: 512,
  };
}

export function fixedStatus(): JobStatus {
  return {
    job: 'tiny-test',
    state: 'running',
    epoch: 3,
    step: 12,
    totalSteps: 40,
    targetWorkers: 2,
    workers: [
      { id: 'worker-0', rank: 0, state: 'training', host: 'node-a', pid: 101, backend: 'wasm', step: 12, computeMs: 410, waitMs: 95, lastSeen: NOW - 400 },
      { id: 'worker-1', rank: 1, state: 'training', host: 'node-b', pid: 202, backend: 'wasm', step: 12, computeMs: 498, waitMs: 7, lastSeen: NOW - 5000 },
    ],
    last: metricsAt(12),
    checkpoints: [{ step: 10, path: '/data/run/checkpoints/step-00000010', savedAt: '2026-11-26T12:00:20.000Z' }],
    startedAt: '2026-11-26T12:00:00.000Z',
    reason: null,
  };
}

export function fixedHistory(): MetricsLine[] {
  return Array.from({ length: 12 }, (_, i) => metricsAt(i + 1));
}
