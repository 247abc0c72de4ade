/**
 * Test helpers for distributed runs: a small config for fast fault detection, a local cluster
 * run in this process (coordinator here, workers as real child processes over a real
 * nats-server), and checks on the run folder (weights, exactly-once, stalls).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stepName } from '../../src/checkpoint/store.js';
import { TRAINABLE_FILE } from '../../src/train/checkpoint.js';
import { loadConfig, type Frozen } from '../../src/config/load.js';
import type { InstructueConfig } from '../../src/config/schema.js';
import type { Coordinator, JobOutcome } from '../../src/coordinator/coordinator.js';
import { trainCluster } from '../../src/launcher/local-cluster.js';
import type { WorkerPool } from '../../src/launcher/worker-pool.js';
import { silentLogger } from '../../src/log.js';
import { parseSafetensors } from '../../src/weights/safetensors.js';
import { concatArrays } from '../../src/train/comm.js';
import { readJsonLines } from '../../src/train/run-dir.js';

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

export function weights(run: string, step: number): Float32Array {
  const parsed = parseSafetensors(readFileSync(join(run, 'checkpoints', stepName(step), TRAINABLE_FILE)), TRAINABLE_FILE);
  const names = [...parsed.tensors.keys()].sort();
  return concatArrays(names.map((n) => parsed.tensors.get(n)!.data as Float32Array));
}

/** ‖a − b‖₂ / ‖b‖₂ and max |a − b|. */
export function weightDiff(a: Float32Array, b: Float32Array): { relative: number; maxAbs: number } {
  assert.equal(a.length, b.length);
  let d = 0;
  let n = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
  }
  return { relative: Math.sqrt(d / n), maxAbs: m };
}

interface ConsumedLine { epoch: number; step: number; rank: number; ids: string[] }

/**
 * The exactly-once check: in RUN/consumed.jsonl every data epoch uses no sample twice, and
 * every complete epoch (one with a later epoch after it) uses all `numSamples`.
 */
export function assertExactlyOnce(run: string, numSamples: number): { epochs: number; steps: number; ranks: Set<number> } {
  const lines = readJsonLines<ConsumedLine>(join(run, 'consumed.jsonl'));
  const byEpoch = new Map<number, string[]>();
  for (const l of lines) byEpoch.set(l.epoch, [...(byEpoch.get(l.epoch) ?? []), ...l.ids]);
  const epochs = [...byEpoch.keys()].sort((a, b) => a - b);
  for (const e of epochs) {
    const ids = byEpoch.get(e)!;
    assert.equal(new Set(ids).size, ids.length, `epoch ${e} used a sample twice`);
    if (e < epochs[epochs.length - 1]!) assert.equal(ids.length, numSamples, `epoch ${e} used ${ids.length} of ${numSamples} samples`);
  }
  const steps = [...new Set(lines.map((l) => l.step))];
  assert.deepEqual(steps, Array.from({ length: steps.length }, (_, i) => i + 1), 'committed steps must be 1, 2, 3, … without gaps or repeats');
  return { epochs: epochs.length, steps: steps.length, ranks: new Set(lines.map((l) => l.rank)) };
}

/** The longest wait between two commits (ms). */
export function longestStall(run: string): number {
  const times = readJsonLines<{ committed_at: number }>(join(run, 'metrics.jsonl')).map((l) => l.committed_at);
  let worst = 0;
  for (let i = 1; i < times.length; i++) worst = Math.max(worst, times[i]! - times[i - 1]!);
  return worst;
}
