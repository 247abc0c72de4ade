/**
 * Training over a 3-server NATS cluster (real nats-server processes with routes and clustered
 * JetStream, a real coordinator and worker processes): the local launcher starts the cluster
 * itself (`dist.nats_cluster_size: 3`), and a run survives the SIGKILL of one server in the
 * middle — every client moves to the surviving servers, every committed step and every sample
 * of an epoch is used exactly once, and the final weights equal those of the undisturbed run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { readJsonLines } from '../../src/train/run-dir.js';
import { startNatsCluster, type NatsClusterHandle } from '../../src/transport/nats-server.js';
import { assertExactlyOnce, atStep, clusterConfig, runCluster, weightDiff, weights } from '../helpers/cluster.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

interface Connz {
  connections: Array<{ name?: string }>;
}

/** The job's client connections (coordinator, workers and their data connections) on each member; null for a dead one. */
async function jobConnections(cluster: NatsClusterHandle): Promise<Array<string[] | null>> {
  return Promise.all(cluster.servers.map(async (s) => {
    try {
      const connz = (await (await fetch(`${s.monitorUrl}/connz?limit=1000`)).json()) as Connz;
      return connz.connections.map((c) => c.name ?? '').filter((n) => /^(worker|heartbeat|coordinator)-/.test(n)).sort();
    } catch {
      return null;
    }
  }));
}

describe('training over a 3-server NATS cluster', () => {
  let small: SynthData;
  let root: string;
  before(() => {
    // 15 users × 4 records = 60 samples: an epoch is 8 steps of 8, so the run crosses epochs.
    small = synthData(15, 32, 5);
    root = mkdtempSync(join(tmpdir(), 'instructue-nats-cluster-'));
  });
  after(() => {
    small.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('one server killed mid-run: clients move to the others; exactly-once; the weights of an undisturbed run', async () => {
    const steps = 12;
    const config = clusterConfig(small.train, { 'train.steps': steps, 'dist.nats_cluster_size': 3 });
    // Undisturbed: the launcher starts its own 3-server cluster.
    const undisturbed = join(root, 'undisturbed');
    const reference = await runCluster(config, undisturbed, 2);
    assert.equal(reference.state, 'done');
    assertExactlyOnce(undisturbed, 60);

    const cluster = await startNatsCluster({ size: 3, jetstream: true, log: silentLogger });
    try {
      const out = join(root, 'server-killed');
      let killed: { index: number; before: Array<string[] | null>; at: number; movedMs: number | null } | undefined;
      const outcome = await runCluster(config, out, 2, {
        natsUrl: cluster.url,
        during: ({ coordinator }) => {
          void atStep(coordinator, 5).then(async () => {
            // The server that carries the most of this job's connections (a worker's, at least).
            const before = await jobConnections(cluster);
            const counts = before.map((names) => names?.filter((n) => n.startsWith('worker-')).length ?? 0);
            const index = counts.indexOf(Math.max(...counts));
            const t0 = Date.now();
            await cluster.servers[index]!.kill('SIGKILL');
            killed = { index, before, at: coordinator.status().step, movedMs: null };
            // Its processes' control connections (names without a data-connection suffix) reappear on the survivors.
            const orphans = (before[index] ?? []).filter((n) => !/-d\d+$/.test(n));
            while (Date.now() - t0 < 20_000 && coordinator.status().step < steps) {
              const now = (await jobConnections(cluster)).flatMap((names) => names ?? []);
              if (orphans.every((n) => now.includes(n))) {
                killed.movedMs = Date.now() - t0;
                break;
              }
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          });
        },
      });
      assert.ok(killed, 'a server was killed');
      assert.ok((killed.before[killed.index] ?? []).some((n) => n.startsWith('worker-')), `the killed server carried worker connections: ${JSON.stringify(killed.before)}`);
      assert.ok(killed.at < steps, `killed at step ${killed.at}, before the end`);
      assert.ok(killed.movedMs !== null, `the killed server's clients reconnected to the others: ${JSON.stringify(killed.before)}`);
      assert.equal(outcome.state, 'done');
      assert.equal(outcome.step, steps);

      // Every committed step once, every sample once per epoch.
      const { steps: committed } = assertExactlyOnce(out, 60);
      assert.equal(committed, steps);
      const consumed = readJsonLines<{ step: number; rank: number }>(join(out, 'consumed.jsonl'));
      const perStep = new Map<number, number[]>();
      for (const l of consumed) perStep.set(l.step, [...(perStep.get(l.step) ?? []), l.rank]);
      for (const [step, ranks] of perStep) assert.deepEqual(ranks.sort(), [0, 1], `step ${step} committed once by each rank`);

      // The same trajectory as without the fault.
      const diff = weightDiff(weights(out, steps), weights(undisturbed, steps));
      assert.ok(diff.relative <= 1e-5, `weights differ by ${diff.relative} (relative L2; max abs ${diff.maxAbs})`);

      // The dead server is gone from the cluster; the survivors still form one with a JetStream leader.
      const after = await jobConnections(cluster);
      assert.equal(after[killed.index], null, 'the killed server answers nothing');
      await cluster.waitFormed(15_000);
    } finally {
      await cluster.stop();
    }
  });
});
