/**
 * @module control/prometheus
 * Renders a JobStatus as Prometheus text exposition format 0.0.4 for `GET /metrics`. All
 * series are gauges read from the latest snapshot; a value the job does not have yet (no step
 * logged, no checkpoint) is left out rather than reported as 0, so graphs show a gap and not a
 * false reading. No job label: Prometheus adds its own `job` label from the scrape config.
 */
import type { JobStatus, WorkerState } from './status.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const WORKER_STATES: readonly WorkerState[] = ['joining', 'training', 'paused', 'lost', 'left'];

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number | null | undefined;
}

/** The `/metrics` body for one snapshot. */
export function renderMetrics(status: JobStatus): string {
  const last = status.last ?? {};
  const latestCheckpoint = status.checkpoints.reduce<number | null>((max, c) => (max === null || c.step > max ? c.step : max), null);
  const out: string[] = [];
  const gauge = (name: string, help: string, samples: Sample[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const s of samples) {
      if (s.value === null || s.value === undefined) continue;
      out.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
  };
  const workerLabels = (w: JobStatus['workers'][number]) => ({ worker: w.id, rank: w.rank === null ? '' : String(w.rank) });

  gauge('instructue_info', 'Constant 1, labelled with the job name and its state.', [{ labels: { name: status.job, state: status.state }, value: 1 }]);
  gauge('instructue_step', 'Last optimizer step every rank finished.', [{ value: status.step }]);
  gauge('instructue_total_steps', 'Steps the run is configured for.', [{ value: status.totalSteps }]);
  gauge('instructue_epoch', 'Membership epoch (bumped on every join, loss or resize of the worker set).', [{ value: status.epoch }]);
  gauge('instructue_data_epoch', 'Pass over the training data of the last logged step.', [{ value: last.epoch }]);
  gauge('instructue_loss', 'Loss of the last logged step: lm = next-token, cl = contrastive, total = weighted sum.', [
    { labels: { kind: 'lm' }, value: last.loss_lm },
    { labels: { kind: 'cl' }, value: last.loss_cl },
    { labels: { kind: 'total' }, value: last.loss },
  ]);
  gauge('instructue_learning_rate', 'Learning rate of the last logged step.', [{ value: last.lr }]);
  gauge('instructue_tokens_per_second', 'Training tokens per second of the last logged step, all workers together.', [{ value: last.tokens_per_s }]);
  gauge('instructue_step_milliseconds', 'Wall time of the last logged step.', [{ value: last.step_ms }]);
  gauge('instructue_workers', 'Workers in each state.', WORKER_STATES.map((state) => ({ labels: { state }, value: status.workers.filter((w) => w.state === state).length })));
  gauge('instructue_target_workers', 'Workers wanted (launcher --workers or the last scale request).', [{ value: status.targetWorkers }]);
  gauge('instructue_worker_step', 'Last step each worker reported done.', status.workers.map((w) => ({ labels: workerLabels(w), value: w.step })));
  gauge('instructue_worker_compute_ms', 'Milliseconds of the worker\'s last step spent computing, before entering collectives (time-to-ready; stragglers stand out here).', status.workers.map((w) => ({ labels: workerLabels(w), value: w.computeMs })));
  gauge('instructue_worker_wait_ms', 'Milliseconds of the worker\'s last step spent waiting in collectives.', status.workers.map((w) => ({ labels: workerLabels(w), value: w.waitMs })));
  gauge('instructue_checkpoint_step', 'Step of the newest published checkpoint.', [{ value: latestCheckpoint }]);
  return out.join('\n') + '\n';
}

function formatLabels(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return `{${parts.join(',')}}`;
}

/** Prometheus spells the non-finite values `NaN`, `+Inf` and `-Inf`. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
