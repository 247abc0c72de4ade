/**
 * The /metrics body for a fixed status, compared whole: names, HELP/TYPE lines, labels,
 * escaping, series left out while the job has no value for them; the counter and histogram
 * machinery (cumulative buckets, `_total` names, refused decrements and wrong labels); and
 * `promtool check metrics` on a body with every family filled (where promtool is installed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, formatFamilies, Histogram, MetricsRegistry } from '../../src/control/metrics-registry.js';
import { renderMetrics } from '../../src/control/prometheus.js';
import { scriptedJob } from '../coordinator/scripted-job.js';
import { fixedStatus } from './fixture-status.js';
import { onPath, promtoolCheckMetrics } from './prometheus-server.js';

const samplesOf = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));

describe('Prometheus exposition', () => {
  it('renders every gauge of a running job', () => {
    const text = renderMetrics(fixedStatus());
    assert.deepEqual(samplesOf(text), [
      'instructue_job_info{name="tiny-test"} 1',
      'instructue_job_state{state="waiting"} 0',
      'instructue_job_state{state="running"} 1',
      'instructue_job_state{state="reconfiguring"} 0',
      'instructue_job_state{state="stopping"} 0',
      'instructue_job_state{state="stopped"} 0',
      'instructue_job_state{state="done"} 0',
      'instructue_job_state{state="failed"} 0',
      'instructue_coordinator_start_time_seconds 1795694400',
      'instructue_committed_step 12',
      'instructue_configured_steps 40',
      'instructue_membership_epoch 3',
      'instructue_data_epoch 0',
      'instructue_loss{kind="lm"} 1.2',
      'instructue_loss{kind="cl"} 0.2',
      'instructue_loss{kind="total"} 1.4',
      'instructue_learning_rate 0.003',
      'instructue_gradient_norm 1.25',
      'instructue_workers{state="joining"} 0',
      'instructue_workers{state="training"} 2',
      'instructue_workers{state="paused"} 0',
      'instructue_workers{state="lost"} 0',
      'instructue_workers{state="left"} 0',
      'instructue_target_workers 2',
      'instructue_worker_step{worker="worker-0",rank="0"} 12',
      'instructue_worker_step{worker="worker-1",rank="1"} 12',
      'instructue_worker_last_seen_timestamp_seconds{worker="worker-0",rank="0"} 1795694429.6',
      'instructue_worker_last_seen_timestamp_seconds{worker="worker-1",rank="1"} 1795694425',
      'instructue_last_checkpoint_step 10',
      'instructue_last_checkpoint_timestamp_seconds 1795694420',
    ]);
    // Every metric has exactly one HELP and one TYPE gauge line, right before its samples.
    const names = [...new Set(samplesOf(text).map((s) => s.split(/[{ ]/)[0]))];
    for (const name of names) {
      assert.equal(text.split('\n').filter((l) => l.startsWith(`# HELP ${name} `)).length, 1, name);
      const at = text.indexOf(`# HELP ${name} `);
      assert.equal(text.slice(at).split('\n')[1], `# TYPE ${name} gauge`);
    }
    assert.ok(text.endsWith('\n'));
  });

  it('leaves out values the job does not have yet and escapes label values', () => {
    const status = { ...fixedStatus(), job: 'a "quoted"\\job\nx', state: 'waiting' as const, step: 0, last: null, checkpoints: [], workers: [{ ...fixedStatus().workers[0]!, rank: null, state: 'joining' as const }] };
    assert.deepEqual(samplesOf(renderMetrics(status)), [
      'instructue_job_info{name="a \\"quoted\\"\\\\job\\nx"} 1',
      'instructue_job_state{state="waiting"} 1',
      'instructue_job_state{state="running"} 0',
      'instructue_job_state{state="reconfiguring"} 0',
      'instructue_job_state{state="stopping"} 0',
      'instructue_job_state{state="stopped"} 0',
      'instructue_job_state{state="done"} 0',
      'instructue_job_state{state="failed"} 0',
      'instructue_coordinator_start_time_seconds 1795694400',
      'instructue_committed_step 0',
      'instructue_configured_steps 40',
      'instructue_membership_epoch 3',
      'instructue_workers{state="joining"} 1',
      'instructue_workers{state="training"} 0',
      'instructue_workers{state="paused"} 0',
      'instructue_workers{state="lost"} 0',
      'instructue_workers{state="left"} 0',
      'instructue_target_workers 2',
      'instructue_worker_step{worker="worker-0",rank=""} 12',
      'instructue_worker_last_seen_timestamp_seconds{worker="worker-0",rank=""} 1795694429.6',
    ]);
  });

  it('writes counters and histograms: cumulative buckets, +Inf = count, sum; labels in declared order', () => {
    const registry = new MetricsRegistry();
    const c = registry.counter('demo_events_total', 'Events\nwith a \\ in the help.', ['kind']);
    const h = registry.histogram('demo_wait_seconds', 'Waits.', ['rank'], [0.1, 1, 10]);
    c.inc({ kind: 'a' });
    c.inc({ kind: 'b' }, 2.5);
    c.inc({ kind: 'a' }, 0);
    for (const v of [0.05, 0.1, 0.5, 3, 30, Number.NaN]) h.observe({ rank: '0' }, v);
    h.observe({ rank: '1' }, 1);
    assert.equal(formatFamilies(registry.families()), [
      '# HELP demo_events_total Events\\nwith a \\\\ in the help.',
      '# TYPE demo_events_total counter',
      'demo_events_total{kind="a"} 1',
      'demo_events_total{kind="b"} 2.5',
      '# HELP demo_wait_seconds Waits.',
      '# TYPE demo_wait_seconds histogram',
      'demo_wait_seconds_bucket{rank="0",le="0.1"} 2',
      'demo_wait_seconds_bucket{rank="0",le="1"} 3',
      'demo_wait_seconds_bucket{rank="0",le="10"} 4',
      'demo_wait_seconds_bucket{rank="0",le="+Inf"} 5',
      'demo_wait_seconds_sum{rank="0"} 33.65',
      'demo_wait_seconds_count{rank="0"} 5',
      'demo_wait_seconds_bucket{rank="1",le="0.1"} 0',
      'demo_wait_seconds_bucket{rank="1",le="1"} 1',
      'demo_wait_seconds_bucket{rank="1",le="10"} 1',
      'demo_wait_seconds_bucket{rank="1",le="+Inf"} 1',
      'demo_wait_seconds_sum{rank="1"} 1',
      'demo_wait_seconds_count{rank="1"} 1',
      '',
    ].join('\n'));
  });

  it('refuses what would break the conventions or a series', () => {
    assert.throws(() => new Counter('demo_events', 'x'), /must end in _total/);
    assert.throws(() => new Counter('demo-events_total', 'x'), /not a Prometheus name/);
    assert.throws(() => new Histogram('demo_seconds', 'x', [1, 1]), /increasing/);
    assert.throws(() => new Histogram('demo_seconds', 'x', [1], ['le']), /reserved/);
    const c = new Counter('demo_total', 'x', ['worker']);
    assert.throws(() => c.inc({ worker: 'w0' }, -1), /only go up/);
    assert.throws(() => c.inc({ rank: '0' }), /takes the labels \[worker\], got \[rank\]/);
    const registry = new MetricsRegistry();
    registry.counter('demo_total', 'x');
    assert.throws(() => registry.counter('demo_total', 'y'), /registered twice/);
  });

  it('passes promtool check metrics with every family filled', { skip: onPath('promtool') ? false : 'promtool not on PATH (Debian prometheus package; ./scripts/setup.sh --with-test-tools installs it)' }, () => {
    const body = renderMetrics(fixedStatus(), scriptedJob().metrics.families());
    assert.deepEqual(promtoolCheckMetrics(body), { status: 0, output: '' });
  });
});
