/**
 * @module eval/report/train-runs
 * Trains the report's runs with the single-process trainer: the report's preset with its
 * size, seed and backend, plus each run's ablation overrides. Every run starts from scratch in
 * its own folder, so nothing carries over between reruns.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/load.js';
import type { BackendName } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { trainLocal, type LocalTrainOptions } from '../../train/local-trainer.js';
import { readJsonLines, runPaths } from '../../train/run-dir.js';
import type { ReportData } from './data.js';
import type { ReportParams, RunPlan } from './plan.js';
import type { RunSummary } from './result.js';

/** configs/<name>.json in this checkout, dist/src/eval/report → repo root (results written before presets were recorded: tiny). */
export function presetPath(name: string | undefined): string {
  return fileURLToPath(new URL(`../../../../configs/${name ?? 'tiny'}.json`, import.meta.url));
}

export interface TrainRunOptions {
  data: ReportData;
  params: ReportParams;
  runsDir: string;
  backend: BackendName;
  log: Logger;
  hooks: TrainHooks;
}

/** What a caller may watch of each training run (the CLI's progress line). */
export type TrainHooks = Pick<LocalTrainOptions, 'onStart' | 'onStep'>;

/** The config of one run (exported for tests and for the report's record of overrides). */
export function runConfig(plan: RunPlan, opts: TrainRunOptions) {
  return loadConfig({
    file: presetPath(opts.params.preset),
    env: {},
    overrides: {
      name: `report-${plan.key}`, backend: opts.backend, seed: opts.params.seed,
      'data.train': opts.data.train, 'data.eval': opts.data.eval,
      'train.steps': opts.params.steps, 'train.global_batch': opts.params.globalBatch, 'train.checkpoint_every': 0,
      ...plan.overrides,
    },
  });
}

/** Steps averaged at each end of the loss curve (single steps are noisy: every batch differs). */
const CURVE_WINDOW = 10;

/** Mean of `key` over the first and the last CURVE_WINDOW metrics lines; null when the loss is off. */
function curveEnds(lines: Array<Record<string, number | null>>, key: string): [number, number] | null {
  const mean = (xs: typeof lines) => xs.reduce((a, l) => a + (l[key] ?? NaN), 0) / xs.length;
  const ends: [number, number] = [mean(lines.slice(0, CURVE_WINDOW)), mean(lines.slice(-CURVE_WINDOW))];
  return ends.every(Number.isFinite) ? ends : null;
}

/** Trains one run into RUNS_DIR/<key>; returns where it is and how its losses moved. */
export async function trainRun(plan: RunPlan, opts: TrainRunOptions): Promise<{ dir: string; summary: RunSummary }> {
  const dir = join(opts.runsDir, plan.key);
  rmSync(dir, { recursive: true, force: true });
  const config = runConfig(plan, opts);
  const result = await trainLocal({ config, out: dir, resume: false, allowConfigChange: false, log: opts.log, ...opts.hooks });
  const lines = readJsonLines<Record<string, number | null>>(runPaths(dir).metrics);
  return {
    dir,
    summary: { key: plan.key, overrides: plan.overrides, steps: result.step, lossLm: curveEnds(lines, 'loss_lm'), lossCl: curveEnds(lines, 'loss_cl') },
  };
}
