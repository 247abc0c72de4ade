/**
 * Distributed training with a real nats-server and real worker processes (the coordinator runs
 * in this process, as in `instructue train --workers N`): exactness against one process, a
 * worker killed with SIGKILL, scaling up mid-run, and a restarted nats-server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { trainLocal } from '../../src/train/local-trainer.js';
import { readJsonLines } from '../../src/train/run-dir.js';
import { assertExactlyOnce, atStep, clusterConfig, DEADLINE_MS, longestStall, runCluster, weightDiff, weights } from '../helpers/cluster.js';
import { startTestNats } from '../helpers/nats.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

describe('distributed training over NATS', () => {
  let data: SynthData;
  let small: SynthData;
  let root: string;
  before(() => {
    data = synthData(100, 31, 5);
    // 15 users × 4 records = 60 samples: an epoch is 8 steps of 8, so runs cross epochs.
    small = synthData(15, 32, 5);
    root = mkdtempSync(join(tmpdir(), 'instructue-cluster-'));
  });
  after(() => {
    data.remove();
    small.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('2 and 4 workers with local batch b match one worker with batch N·b (loss at step 1 to 1e-6, weights after 5 steps to 1e-5)', async () => {
    const config = clusterConfig(data.train, { 'train.steps': 5, 'train.global_batch': 8 });
    const single = join(root, 'single');
    await trainLocal({ config, out: single, resume: false, allowConfigChange: false, log: silentLogger });
    const reference = readJsonLines<{ loss_cl: number; loss_lm: number }>(join(single, 'metrics.jsonl'));
    for (const workers of [2, 4]) {
      const out = join(root, `exact-${workers}`);
      const outcome = await runCluster(config, out, workers);
      assert.equal(outcome.state, 'done');
      const lines = readJsonLines<{ loss_cl: number; world_size: number }>(join(out, 'metrics.jsonl'));
      assert.equal(lines[0]!.world_size, workers);
      assert.ok(Math.abs(lines[0]!.loss_cl - reference[0]!.loss_cl) <= 1e-6, `${workers} workers: step-1 L_cl ${lines[0]!.loss_cl} vs ${reference[0]!.loss_cl}`);
      const diff = weightDiff(weights(out, 5), weights(single, 5));
      assert.ok(diff.relative <= 1e-5, `${workers} workers: weights differ by ${diff.relative} (relative L2; max abs ${diff.maxAbs})`);
    }
  });

  it('kill -9 of one of 3 workers: the job completes, every sample of each epoch is used once, no long stall', async () => {
    const config = clusterConfig(small.train, { 'train.steps': 20, 'dist.max_restarts': 0 });
    const out = join(root, 'kill');
    const killAt = 6;
    let killed = false;
    const outcome = await runCluster(config, out, 3, {
      during: ({ coordinator, pool }) => {
        void atStep(coordinator, killAt).then(() => {
          killed = pool.signal('w1', 'SIGKILL');
        });
      },
    });
    assert.ok(killed, 'worker w1 was killed');
    assert.equal(outcome.state, 'done');
    assert.equal(outcome.step, 20);
    const { epochs } = assertExactlyOnce(out, 60);
    assert.ok(epochs >= 3);
    const sizes = readJsonLines<{ step: number; world_size: number }>(join(out, 'metrics.jsonl'));
    assert.equal(sizes[0]!.world_size, 3);
    assert.equal(sizes[sizes.length - 1]!.world_size, 2);
    const stall = longestStall(out);
    assert.ok(stall <= DEADLINE_MS + 10_000, `longest stall ${stall} ms`);
  });

  it('a worker that stalls (SIGSTOP) past the deadline is dropped and the job completes without it', async () => {
    const config = clusterConfig(small.train, { 'train.steps': 12, 'dist.max_restarts': 0 });
    const out = join(root, 'stall');
    let stalledAt = 0;
    const outcome = await runCluster(config, out, 3, {
      during: ({ coordinator, pool }) => {
        void atStep(coordinator, 4).then(() => {
          stalledAt = Date.now();
          pool.signal('w2', 'SIGSTOP');
          const off = coordinator.onStatusEvent(() => {
            if (coordinator.status().workers.some((w) => w.id === 'w2' && w.state === 'lost')) {
              off();
              pool.signal('w2', 'SIGKILL'); // a stopped process cannot exit by itself
            }
          });
        });
      },
    });
    assert.ok(stalledAt > 0);
    assert.equal(outcome.state, 'done');
    assertExactlyOnce(out, 60);
    const sizes = readJsonLines<{ world_size: number }>(join(out, 'metrics.jsonl')).map((l) => l.world_size);
    assert.equal(sizes[sizes.length - 1], 2);
    assert.ok(longestStall(out) <= DEADLINE_MS + 10_000, `longest stall ${longestStall(out)} ms`);
  });

  it('scaling 2 → 3 workers mid-run: the new worker takes part and exactly-once holds', async () => {
    const config = clusterConfig(small.train, { 'train.steps': 16 });
    const out = join(root, 'scale');
    const outcome = await runCluster(config, out, 2, {
      during: ({ coordinator }) => {
        void atStep(coordinator, 4).then(() => coordinator.control({ type: 'scale', workers: 3 }));
      },
    });
    assert.equal(outcome.state, 'done');
    const { ranks } = assertExactlyOnce(out, 60);
    assert.deepEqual([...ranks].sort(), [0, 1, 2]);
    const sizes = readJsonLines<{ world_size: number }>(join(out, 'metrics.jsonl')).map((l) => l.world_size);
    assert.equal(sizes[0], 2);
    assert.equal(sizes[sizes.length - 1], 3);
  });

  it('scaling 3 → 2 workers mid-run: one worker is released, exactly-once holds', async () => {
    const config = clusterConfig(small.train, { 'train.steps': 12 });
    const out = join(root, 'scale-down');
    const outcome = await runCluster(config, out, 3, {
      during: ({ coordinator }) => {
        void atStep(coordinator, 4).then(() => coordinator.control({ type: 'scale', workers: 2 }));
      },
    });
    assert.equal(outcome.state, 'done');
    assertExactlyOnce(out, 60);
    const sizes = readJsonLines<{ world_size: number }>(join(out, 'metrics.jsonl')).map((l) => l.world_size);
    assert.equal(sizes[0], 3);
    assert.equal(sizes[sizes.length - 1], 2);
  });

  it('a restarted nats-server: the run reconnects and completes with the weights of an undisturbed run', async () => {
    const config = clusterConfig(small.train, { 'train.steps': 12 });
    const undisturbed = join(root, 'nats-reference');
    assert.equal((await runCluster(config, undisturbed, 2)).state, 'done');
    const nats = await startTestNats({ jetstream: true });
    try {
      const out = join(root, 'nats-restart');
      let restarted = false;
      const outcome = await runCluster(config, out, 2, {
        natsUrl: nats.url,
        during: ({ coordinator }) => {
          void atStep(coordinator, 5).then(async () => {
            await nats.restart();
            restarted = true;
          });
        },
      });
      assert.ok(restarted);
      assert.equal(outcome.state, 'done');
      assertExactlyOnce(out, 60);
      const diff = weightDiff(weights(out, 12), weights(undisturbed, 12));
      assert.ok(diff.maxAbs <= 1e-6, `weights differ by ${diff.maxAbs}`);
    } finally {
      await nats.stop();
    }
  });
});
