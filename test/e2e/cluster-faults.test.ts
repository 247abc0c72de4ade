/**
 * The cluster's promises under faults, with a real nats-server and real worker processes: the
 * weights after a run do not depend on the world size or on any history of faults (they equal
 * an undisturbed single-process run of the same seed and global batch), every committed step is
 * in consumed.jsonl once and every sample once per epoch, and nothing waits forever.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Frozen } from '../../src/config/load.js';
import type { InstructueConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { trainLocal } from '../../src/train/local-trainer.js';
import { readJsonLines } from '../../src/train/run-dir.js';
import { assertExactlyOnce, atStep, clusterConfig, runCluster, weightDiff, weights } from '../helpers/cluster.js';
import { startTestNats } from '../helpers/nats.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

const STEPS = 12;
const TIMEOUT_MS = 3000; // dist.worker_timeout_ms of clusterConfig

describe('cluster faults keep weights and exactly-once', () => {
  let data: SynthData;
  let root: string;
  let config: Frozen<InstructueConfig>;
  let reference: Float32Array;
  before(async () => {
    // 15 users × 4 records = 60 samples: an epoch is 8 steps of 8, so runs cross epochs.
    data = synthData(15, 32, 5);
    root = mkdtempSync(join(tmpdir(), 'instructue-faults-'));
    config = clusterConfig(data.train, { 'train.steps': STEPS, 'train.global_batch': 8 });
    const single = join(root, 'single');
    await trainLocal({ config, out: single, resume: false, allowConfigChange: false, log: silentLogger });
    reference = weights(single, STEPS);
  });
  after(() => {
    data.remove();
    rmSync(root, { recursive: true, force: true });
  });

  // With train.exact_sum (the default) the gradient sum has the same bits for any world size,
  // so the weights must equal the 1-worker run exactly, not just within float tolerance.
  const sameAsOneWorker = (out: string, what: string) => {
    const diff = weightDiff(weights(out, STEPS), reference);
    assert.equal(diff.maxAbs, 0, `${what}: weights differ from the 1-worker run by ${diff.relative} (relative L2; max abs ${diff.maxAbs})`);
  };

  it('2 and 3 undisturbed workers end with the weights of one worker (B4)', async () => {
    for (const workers of [2, 3]) {
      const out = join(root, `undisturbed-${workers}`);
      assert.equal((await runCluster(config, out, workers)).state, 'done');
      assertExactlyOnce(out, 60);
      sameAsOneWorker(out, `${workers} workers`);
    }
  });

  it('kill -9 of 1 of 3 workers mid-run: the survivors finish with the 1-worker weights; with restarts a replacement joins', async () => {
    for (const maxRestarts of [0, 1]) {
      const out = join(root, `kill-${maxRestarts}`);
      let killed = false;
      const outcome = await runCluster(clusterConfig(data.train, { 'train.steps': STEPS, 'dist.max_restarts': maxRestarts }), out, 3, {
        during: ({ coordinator, pool }) => void atStep(coordinator, 5).then(() => (killed = pool.signal('w1', 'SIGKILL'))),
      });
      assert.ok(killed);
      assert.equal(outcome.state, 'done');
      assertExactlyOnce(out, 60);
      const sizes = readJsonLines<{ world_size: number }>(join(out, 'metrics.jsonl')).map((l) => l.world_size);
      assert.equal(sizes[sizes.length - 1], maxRestarts === 0 ? 2 : 3, `world sizes ${sizes}`);
      sameAsOneWorker(out, `kill -9, max_restarts ${maxRestarts}`);
    }
  });

  it('SIGSTOP of all workers for 2× the worker timeout: they are dropped, learn it, re-join, and the job completes (B1)', async () => {
    const out = join(root, 'stop-workers');
    const outcome = await runCluster(config, out, 2, {
      during: ({ coordinator, pool }) => void atStep(coordinator, 5).then(async () => {
        for (const id of pool.alive) pool.signal(id, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, 2 * TIMEOUT_MS));
        for (const id of pool.alive) pool.signal(id, 'SIGCONT');
      }),
    });
    assert.equal(outcome.state, 'done', outcome.reason ?? '');
    assertExactlyOnce(out, 60);
    sameAsOneWorker(out, 'SIGSTOP of the workers');
  });

  it('SIGSTOP of nats-server for 2× the worker timeout: everyone reconnects and the job completes (B1)', async () => {
    const nats = await startTestNats({ jetstream: true });
    try {
      const out = join(root, 'stop-nats');
      const outcome = await runCluster(config, out, 2, {
        natsUrl: nats.url,
        during: ({ coordinator }) => void atStep(coordinator, 5).then(async () => {
          process.kill(nats.pid, 'SIGSTOP');
          await new Promise((r) => setTimeout(r, 2 * TIMEOUT_MS));
          process.kill(nats.pid, 'SIGCONT');
        }),
      });
      assert.equal(outcome.state, 'done', outcome.reason ?? '');
      assertExactlyOnce(out, 60);
      sameAsOneWorker(out, 'SIGSTOP of nats-server');
    } finally {
      await nats.stop();
    }
  });
});
