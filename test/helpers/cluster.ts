/**
 * Test helpers for distributed runs: a small config for fast fault detection, a local cluster
 * run in this process (coordinator here, workers as real child processes over a real
 * nats-server), and checks on the run folder (weights, exactly-once, stalls).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig, type Frozen } from '../../src/config/load.js';
import type { InstructueConfig } from '../../src/config/schema.js';
import type { Coordinator, JobOutcome } from '../../src/coordinator/coordinator.js';
import { trainCluster } from '../../src/launcher/local-cluster.js';
import type { WorkerPool } from '../../src/launcher/worker-pool.js';
import { silentLogger } from '../../src/log.js';
import { readJsonLines } from '../../src/train/run-dir.js';
import { checkpointWeights, exactlyOnce, weightDiff } from '../../scripts/run-checks.js';

/** Collective deadline of the test runs (faults are detected within it). */
export const DEADLINE_MS = 5000;

export function clusterConfig(train: string, overrides: Record<string, unknown> = {}): Frozen<InstructueConfig> {
  return loadConfig({
    file: 'configs/tiny.json',
    overrides: {
      'data.train': train, backend: 'wasm', 'train.checkpoint_every': 4,
      'dist.collective_timeout_ms': DEADLINE_MS, 'dist.heartbeat_ms': 300, 'dist.worker_timeout_ms': 3000, 'dist.checksum_every': 3,
      ...overrides,
    },
    env: {},
  });
}

export interface ClusterRun {
  outcome: JobOutcome;
}

/** trainCluster with a hook that sees the coordinator and the worker pool once they are up. */
export async function runCluster(config: Frozen<InstructueConfig>, out: string, workers: number, extra: { natsUrl?: string; resume?: boolean; during?: (c: { coordinator: Coordinator; pool: WorkerPool }) => void } = {}): Promise<JobOutcome> {
  return trainCluster({
    config, out, workers, natsUrl: extra.natsUrl ?? '', resume: extra.resume ?? false, allowConfigChange: false, log: silentLogger,
    onReady: (cluster) => extra.during?.(cluster),
  });
}

/** Resolves when the coordinator has committed `step`. */
export function atStep(coordinator: Coordinator, step: number): Promise<void> {
  return new Promise((resolve) => {
    if (coordinator.status().step >= step) return resolve();
    const off = coordinator.onStatusEvent(() => {
      if (coordinator.status().step >= step) {
        off();
        resolve();
      }
    });
  });
}

/** A checkpoint's trainable values (scripts/run-checks.ts). */
export const weights = checkpointWeights;
export { weightDiff };

/**
 * The exactly-once check (scripts/run-checks.ts): in RUN/consumed.jsonl every data epoch uses no
 * sample twice, every complete epoch uses all `numSamples`, and committed steps run 1, 2, 3, ….
 */
export function assertExactlyOnce(run: string, numSamples: number): { epochs: number; steps: number; ranks: Set<number> } {
  const result = exactlyOnce(run, numSamples);
  assert.equal(result.problem, null);
  return result;
}

/** The longest wait between two commits (ms). */
export function longestStall(run: string): number {
  const times = readJsonLines<{ committed_at: number }>(join(run, 'metrics.jsonl')).map((l) => l.committed_at);
  let worst = 0;
  for (let i = 1; i < times.length; i++) worst = Math.max(worst, times[i]! - times[i - 1]!);
  return worst;
}
