/**
 * The /metrics body for a fixed status, compared whole: names, HELP/TYPE lines, labels,
 * escaping, and series left out while the job has no value for them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderMetrics } from '../../src/control/prometheus.js';
import { fixedStatus } from './fixture-status.js';

describe('Prometheus exposition', () => {
  it('renders every gauge of a running job', () => {
    const text = renderMetrics(fixedStatus());
    const samples = text.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(samples, [
      'instructue_info{name="tiny-test",state="running"} 1',
      'instructue_step 12',
      'instructue_total_steps 40',
      'instructue_epoch 3',
      'instructue_data_epoch 0',
      'instructue_loss{kind="lm"} 1.2',
      'instructue_loss{kind="cl"} 0.2',
      'instructue_loss{kind="total"} 1.4',
      'instructue_learning_rate 0.003',
      'instructue_tokens_per_second 1012',
      'instructue_step_milliseconds 512',
      'instructue_workers{state="joining"} 0',
      'instructue_workers{state="training"} 2',
      'instructue_workers{state="paused"} 0',
      'instructue_workers{state="lost"} 0',
      'instructue_workers{state="left"} 0',
      'instructue_target_workers 2',
      'instructue_worker_step{worker="worker-0",rank="0"} 12',
      'instructue_worker_step{worker="worker-1",rank="1"} 12',
      'instructue_worker_compute_ms{worker="worker-0",rank="0"} 410',
      'instructue_worker_compute_ms{worker="worker-1",rank="1"} 498',
      'instructue_worker_wait_ms{worker="worker-0",rank="0"} 95',
      'instructue_worker_wait_ms{worker="worker-1",rank="1"} 7',
      'instructue_checkpoint_step 10',
    ]);
    // Every metric has exactly one HELP and one TYPE gauge line, right before its samples.
    const names = [...new Set(samples.map((s) => s.split(/[{ ]/)[0]))];
    for (const name of names) {
      const at = text.indexOf(`# HELP ${name} `);
      assert.ok(at >= 0, name);
      assert.equal(text.slice(at).split('\n')[1], `# TYPE ${name} gauge`);
    }
    assert.ok(text.endsWith('\n'));
  });

  it('leaves out values the job does not have yet and escapes label values', () => {
    const status = { ...fixedStatus(), job: 'a "quoted"\\job\nx', state: 'waiting' as const, step: 0, last: null, checkpoints: [], workers: [{ ...fixedStatus().workers[0]!, rank: null, state: 'joining' as const }] };
    const samples = renderMetrics(status).split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(samples, [
      'instructue_info{name="a \\"quoted\\"\\\\job\\nx",state="waiting"} 1',
      'instructue_step 0',
      'instructue_total_steps 40',
      'instructue_epoch 3',
      'instructue_workers{state="joining"} 1',
      'instructue_workers{state="training"} 0',
      'instructue_workers{state="paused"} 0',
      'instructue_workers{state="lost"} 0',
      'instructue_workers{state="left"} 0',
      'instructue_target_workers 2',
      'instructue_worker_step{worker="worker-0",rank=""} 12',
      'instructue_worker_compute_ms{worker="worker-0",rank=""} 410',
      'instructue_worker_wait_ms{worker="worker-0",rank=""} 95',
    ]);
  });
});
