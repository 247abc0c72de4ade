/**
 * @module eval/report/train-runs
 * Trains the report's runs with the single-process trainer: the tiny preset with the report's
 * size, seed and backend, plus each run's ablation overrides. Every run starts from scratch in
 * its own folder, so nothing carries over between reruns.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/load.js';
import type { BackendName } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { trainLocal } from '../../train/local-trainer.js';
import type { ReportData } from './data.js';
import type { ReportParams, RunPlan } from './plan.js';
import type { RunSummary } from './result.js';

/** The tiny preset in this checkout (dist/src/eval/report → repo root). */
export const TINY_PRESET = fileURLToPath(new URL('../../../../configs/tiny.json', import.meta.url));

export interface TrainRunOptions {
  data: ReportData;
  params: ReportParams;
  runsDir: string;
  backend: BackendName;
  log: Logger;
  /** Show the trainer's progress line on stderr. */
  progress: boolean;
}

/** The config of one run (exported for tests and for the report's record of overrides). */
export function runConfig(plan: RunPlan, opts: TrainRunOptions) {
  return loadConfig({
    file: TINY_PRESET,
    env: {},
    overrides: {
      name: `report-${plan.key}`, backend: opts.backend, seed: opts.params.seed,
      'data.train': opts.data.train, 'data.eval': opts.data.eval,
      'train.steps': opts.params.steps, 'train.global_batch': opts.params.globalBatch, 'train.checkpoint_every': 0,
      ...plan.overrides,
    },
  });
}

/** Trains one run into RUNS_DIR/<key>; returns where it is and how it ended. */
export async function trainRun(plan: RunPlan, opts: TrainRunOptions): Promise<{ dir: string; summary: RunSummary }> {
  const dir = join(opts.runsDir, plan.key);
  rmSync(dir, { recursive: true, force: true });
  const result = await trainLocal({ config: runConfig(plan, opts), out: dir, resume: false, allowConfigChange: false, log: opts.log, progress: opts.progress });
  return {
    dir,
    summary: { key: plan.key, overrides: plan.overrides, steps: result.step, lossLm: result.last?.lossLm ?? null, lossCl: result.last?.lossCl ?? null },
  };
}
