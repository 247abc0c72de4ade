/**
 * The job's counters and histograms after a scripted story of real membership decisions
 * (test/coordinator/scripted-job.ts): every value compared whole, each one worked out by hand
 * from the story — commits counted once despite retried reports, a retried checkpoint report
 * counted once, rollbacks by cause, losses and re-joins per worker, a rewind with the steps it
 * gave up, collective figures turned into increments across a worker restart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DURATION_BUCKETS_SECONDS, formatFamilies } from '../../src/control/metrics-registry.js';
import { JobMetrics } from '../../src/coordinator/job-metrics.js';
import { scriptedJob } from './scripted-job.js';

const samplesOf = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));

describe('job metrics', () => {
  it('counts what the scripted job did', () => {
    const { metrics, view } = scriptedJob();
    assert.deepEqual([view.phase, view.epoch, view.committed.step], ['running', 6, 2]);
    const lines = samplesOf(formatFamilies(metrics.families()));
    assert.deepEqual(lines.filter((l) => !l.includes('_bucket')), [
      // 4 commits × 2 ranks × 4 samples; tokens 100 + 90 per commit.
      'instructue_steps_total 4',
      'instructue_samples_total 32',
      'instructue_tokens_total 760',
      'instructue_step_duration_seconds_sum 2',
      'instructue_step_duration_seconds_count 4',
      'instructue_step_phase_duration_seconds_sum{phase="prepare"} 0.04',
      'instructue_step_phase_duration_seconds_count{phase="prepare"} 4',
      'instructue_step_phase_duration_seconds_sum{phase="pass1"} 0.4',
      'instructue_step_phase_duration_seconds_count{phase="pass1"} 4',
      'instructue_step_phase_duration_seconds_sum{phase="gather"} 0.08',
      'instructue_step_phase_duration_seconds_count{phase="gather"} 4',
      'instructue_step_phase_duration_seconds_sum{phase="loss"} 0.02',
      'instructue_step_phase_duration_seconds_count{phase="loss"} 4',
      'instructue_step_phase_duration_seconds_sum{phase="pass2"} 1.2',
      'instructue_step_phase_duration_seconds_count{phase="pass2"} 4',
      'instructue_step_phase_duration_seconds_sum{phase="all_reduce"} 0.2',
      'instructue_step_phase_duration_seconds_count{phase="all_reduce"} 4',
      'instructue_step_phase_duration_seconds_sum{phase="optimizer"} 0.06',
      'instructue_step_phase_duration_seconds_count{phase="optimizer"} 4',
      'instructue_worker_compute_duration_seconds_sum{worker="w0",rank="0"} 1.72',
      'instructue_worker_compute_duration_seconds_count{worker="w0",rank="0"} 4',
      'instructue_worker_compute_duration_seconds_sum{worker="w1",rank="1"} 1.92',
      'instructue_worker_compute_duration_seconds_count{worker="w1",rank="1"} 4',
      'instructue_worker_wait_duration_seconds_sum{worker="w0",rank="0"} 0.28',
      'instructue_worker_wait_duration_seconds_count{worker="w0",rank="0"} 4',
      'instructue_worker_wait_duration_seconds_sum{worker="w1",rank="1"} 0.08',
      'instructue_worker_wait_duration_seconds_count{worker="w1",rank="1"} 4',
      // Epochs 1 (start), 2 (w1 lost), 3 (w1 taken in), 4 (fault), 5 (after the rewind), 6 (w0 re-joined from inside 5).
      'instructue_membership_epochs_total 6',
      'instructue_rollbacks_total{cause="fault"} 1',
      'instructue_rollbacks_total{cause="lost"} 2',
      'instructue_rollbacks_total{cause="rejoined"} 1',
      // Committed step 4 → checkpoint 2.
      'instructue_rewinds_total 1',
      'instructue_rewound_steps_total 2',
      'instructue_worker_losses_total{worker="w1"} 2',
      'instructue_worker_losses_total{worker="w0"} 1',
      'instructue_worker_rejoins_total{worker="w1"} 1',
      'instructue_worker_rejoins_total{worker="w0"} 2',
      // w0: cumulative 1 retransmit, 1 timeout, 2 aborts, 4000/3600 bytes. w1: 2 retransmits and
      // 2700/3000 bytes from its first process, then 300/400 from its second (a new pid).
      'instructue_collective_retransmit_requests_total{worker="w0",rank="0"} 1',
      'instructue_collective_retransmit_requests_total{worker="w1",rank="1"} 2',
      'instructue_collective_aborts_total{worker="w0",rank="0",reason="timeout"} 1',
      'instructue_collective_aborts_total{worker="w0",rank="0",reason="aborted"} 2',
      'instructue_collective_aborts_total{worker="w1",rank="1",reason="timeout"} 0',
      'instructue_collective_aborts_total{worker="w1",rank="1",reason="aborted"} 0',
      'instructue_collective_sent_bytes_total{worker="w0",rank="0"} 4000',
      'instructue_collective_sent_bytes_total{worker="w1",rank="1"} 3000',
      'instructue_collective_received_bytes_total{worker="w0",rank="0"} 3600',
      'instructue_collective_received_bytes_total{worker="w1",rank="1"} 3400',
      'instructue_checkpoints_total 1',
      'instructue_checkpoint_written_bytes_total 5000',
      'instructue_checkpoint_duration_seconds_sum 0.25',
      'instructue_checkpoint_duration_seconds_count 1',
      'instructue_resumes_total 0',
    ]);
    // Every step took 0.5 s: nothing in the buckets below 0.5, all four from 0.5 up.
    assert.deepEqual(lines.filter((l) => l.startsWith('instructue_step_duration_seconds_bucket')), [
      ...DURATION_BUCKETS_SECONDS.map((b) => `instructue_step_duration_seconds_bucket{le="${b}"} ${b < 0.5 ? 0 : 4}`),
      'instructue_step_duration_seconds_bucket{le="+Inf"} 4',
    ]);
    assert.deepEqual(lines.filter((l) => l.startsWith('instructue_checkpoint_duration_seconds_bucket{le="0.1"}') || l.startsWith('instructue_checkpoint_duration_seconds_bucket{le="0.25"}')), [
      'instructue_checkpoint_duration_seconds_bucket{le="0.1"} 0',
      'instructue_checkpoint_duration_seconds_bucket{le="0.25"} 1',
    ]);
  });

  it('announces every family from the start, and carries the resume count of the job record', () => {
    const metrics = new JobMetrics();
    metrics.startedWithResumes(3);
    const text = formatFamilies(metrics.families());
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.slice(7));
    assert.deepEqual(types, [
      'instructue_steps_total counter', 'instructue_samples_total counter', 'instructue_tokens_total counter',
      'instructue_step_duration_seconds histogram', 'instructue_step_phase_duration_seconds histogram',
      'instructue_worker_compute_duration_seconds histogram', 'instructue_worker_wait_duration_seconds histogram',
      'instructue_membership_epochs_total counter', 'instructue_rollbacks_total counter', 'instructue_rewinds_total counter', 'instructue_rewound_steps_total counter',
      'instructue_worker_losses_total counter', 'instructue_worker_rejoins_total counter',
      'instructue_collective_retransmit_requests_total counter', 'instructue_collective_aborts_total counter',
      'instructue_collective_sent_bytes_total counter', 'instructue_collective_received_bytes_total counter',
      'instructue_checkpoints_total counter', 'instructue_checkpoint_written_bytes_total counter', 'instructue_checkpoint_duration_seconds histogram',
      'instructue_resumes_total counter',
    ]);
    const emptyHistogram = (name: string) => [...DURATION_BUCKETS_SECONDS.map((b) => `${name}_bucket{le="${b}"} 0`), `${name}_bucket{le="+Inf"} 0`, `${name}_sum 0`, `${name}_count 0`];
    // Series without labels exist at 0, and so do the rollback causes; per-worker series appear with their workers.
    assert.deepEqual(samplesOf(text), [
      'instructue_steps_total 0', 'instructue_samples_total 0', 'instructue_tokens_total 0',
      ...emptyHistogram('instructue_step_duration_seconds'),
      'instructue_membership_epochs_total 0',
      'instructue_rollbacks_total{cause="fault"} 0', 'instructue_rollbacks_total{cause="lost"} 0', 'instructue_rollbacks_total{cause="rejoined"} 0',
      'instructue_rewinds_total 0', 'instructue_rewound_steps_total 0',
      'instructue_checkpoints_total 0', 'instructue_checkpoint_written_bytes_total 0',
      ...emptyHistogram('instructue_checkpoint_duration_seconds'),
      'instructue_resumes_total 3',
    ]);
    assert.equal(metrics.resumes, 3);
  });
});
