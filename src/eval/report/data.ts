/**
 * @module eval/report/data
 * The report's synthetic data: training users, the probe population and a separate labelled
 * tuning pool. Synth writes evalUsers + tuneUsers labelled users (e0, e1, …; each depends only on
 * the seed and its index); the first evalUsers stay in eval/ — exactly what
 * `instructue synth --eval-users evalUsers` writes — and the rest move to tune/, so tuning shots
 * never come from the probe's users. With `retrievalUsers`, synth also writes that many further
 * training-population users in training format to heldout/ (never trained on) for retrieval.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYNTH_DEFAULTS, writeSynth } from '../../data/synth/write.js';
import type { ReportParams } from './plan.js';

export interface ReportData {
  root: string;
  train: string;
  eval: string;
  tune: string;
  /** Held-out training-format records for retrieval (null when params.retrievalUsers is 0). */
  heldout: string | null;
}

const EVAL_FILE = 'part-00000.jsonl';

/** Generates the data under `root` (replacing what is there). */
export function prepareReportData(root: string, p: ReportParams): ReportData {
  writeSynth({
    out: root, users: p.users, evalUsers: p.evalUsers + p.tuneUsers, seed: p.seed, force: true, gzip: false,
    shards: Math.min(SYNTH_DEFAULTS.shards, p.users), difficulty: SYNTH_DEFAULTS.difficulty,
    pairsPerUser: SYNTH_DEFAULTS.pairsPerUser, maxEvents: SYNTH_DEFAULTS.maxEvents, heldOutUsers: p.retrievalUsers ?? 0,
  });
  const data: ReportData = { root, train: join(root, 'train'), eval: join(root, 'eval'), tune: join(root, 'tune'), heldout: (p.retrievalUsers ?? 0) > 0 ? join(root, 'heldout') : null };
  const lines = readFileSync(join(data.eval, EVAL_FILE), 'utf8').split('\n').filter((l) => l.length > 0);
  mkdirSync(data.tune, { recursive: true });
  writeFileSync(join(data.eval, EVAL_FILE), lines.slice(0, p.evalUsers).join('\n') + '\n');
  writeFileSync(join(data.tune, EVAL_FILE), lines.slice(p.evalUsers).join('\n') + '\n');
  return data;
}
