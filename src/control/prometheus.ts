/**
 * @module control/prometheus
 * The body of `GET /metrics`: gauges read from the job's status snapshot (where it stands now)
 * followed by the job's counters and histograms (what it did so far; the coordinator keeps them
 * in `src/coordinator/job-metrics.ts`). Names follow Prometheus conventions — base units
 * (seconds, bytes), `_total` counters, `_seconds` histograms — and `promtool check metrics`
 * passes on them (test/control/prometheus-real-run.test.ts). The full table is in
 * docs/kubernetes.md.
 *
 * A value the job does not have yet (no step logged, no checkpoint) is left out rather than
 * reported as 0, so graphs show a gap and not a false reading. No `job` label: Prometheus adds its
 * own from the scrape config.
 */
import { formatFamilies, type Labels, type MetricFamily } from './metrics-registry.js';
import type { JobState, JobStatus, WorkerState, WorkerStatus } from './status.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const JOB_STATES: readonly JobState[] = ['waiting', 'running', 'reconfiguring', 'stopping', 'stopped', 'done', 'failed'];
const WORKER_STATES: readonly WorkerState[] = ['joining', 'training', 'paused', 'lost', 'left'];

interface GaugeValue {
  labels?: Labels;
  value: number | null | undefined;
}

/** The `/metrics` body: the snapshot's gauges, then the job's cumulative families. */
export function renderMetrics(status: JobStatus, cumulative: readonly MetricFamily[] = []): string {
  return formatFamilies([...statusGauges(status), ...cumulative]);
}

/** `{worker, rank}` of a worker; rank is empty while it holds none (joining, lost). */
export function workerLabels(w: Pick<WorkerStatus, 'id' | 'rank'>): Labels {
  return { worker: w.id, rank: w.rank === null ? '' : String(w.rank) };
}

function statusGauges(status: JobStatus): MetricFamily[] {
  const last = status.last ?? {};
  const newest = status.checkpoints.reduce<JobStatus['checkpoints'][number] | null>((best, c) => (best === null || c.step > best.step ? c : best), null);
  const seconds = (iso: string | undefined) => (iso === undefined ? null : Date.parse(iso) / 1000);
  const families: MetricFamily[] = [];
  const gauge = (name: string, help: string, values: GaugeValue[]) => {
    const samples = values.filter((v): v is { labels?: Labels; value: number } => typeof v.value === 'number').map((v) => ({ name, labels: v.labels ?? {}, value: v.value }));
    families.push({ name, help, type: 'gauge', samples });
  };

  gauge('instructue_job_info', 'Constant 1, labelled with the job name (dist.job).', [{ labels: { name: status.job }, value: 1 }]);
  gauge('instructue_job_state', '1 for the state the job is in, 0 for the others.', JOB_STATES.map((state) => ({ labels: { state }, value: state === status.state ? 1 : 0 })));
  gauge('instructue_coordinator_start_time_seconds', 'Unix time the coordinator process started (counters restart from 0 then).', [{ value: seconds(status.startedAt) }]);
  gauge('instructue_committed_step', 'Last optimizer step every rank finished (committed).', [{ value: status.step }]);
  gauge('instructue_configured_steps', 'Optimizer steps the run is configured for (train.steps).', [{ value: status.totalSteps }]);
  gauge('instructue_membership_epoch', 'Membership epoch: bumped on every join, loss or resize of the worker set.', [{ value: status.epoch }]);
  gauge('instructue_data_epoch', 'Pass over the training data of the last committed step.', [{ value: last.epoch }]);
  gauge('instructue_loss', 'Loss of the last committed step: lm = next-token, cl = contrastive, total = weighted sum.', [
    { labels: { kind: 'lm' }, value: last.loss_lm },
    { labels: { kind: 'cl' }, value: last.loss_cl },
    { labels: { kind: 'total' }, value: last.loss },
  ]);
  gauge('instructue_learning_rate', 'Learning rate of the last committed step.', [{ value: last.lr }]);
  gauge('instructue_gradient_norm', 'Global gradient norm of the last committed step, before clipping.', [{ value: last.grad_norm }]);
  gauge('instructue_workers', 'Workers the coordinator knows, by state.', WORKER_STATES.map((state) => ({ labels: { state }, value: status.workers.filter((w) => w.state === state).length })));
  gauge('instructue_target_workers', 'Workers wanted (launcher --workers, a scale request, or workers that joined beyond it).', [{ value: status.targetWorkers }]);
  gauge('instructue_worker_step', 'Last step each worker reported done.', status.workers.map((w) => ({ labels: workerLabels(w), value: w.step })));
  gauge('instructue_worker_last_seen_timestamp_seconds', 'Unix time the coordinator last heard from each worker.', status.workers.map((w) => ({ labels: workerLabels(w), value: w.lastSeen / 1000 })));
  gauge('instructue_last_checkpoint_step', 'Step of the newest published checkpoint.', [{ value: newest?.step }]);
  gauge('instructue_last_checkpoint_timestamp_seconds', 'Unix time the newest published checkpoint was reported.', [{ value: seconds(newest?.savedAt) }]);
  return families;
}
