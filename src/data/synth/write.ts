/**
 * @module data/synth/write
 * `instructue synth` as a library call: generates the training users into K shard files, the
 * evaluation users into one labelled file, optionally held-out users of the training population
 * (training-format records of people never trained on, for retrieval checks) into `heldout/`,
 * and writes `tabular-schema.json` and `synth.json` (parameters and counts). Users are generated one at a time and written at once, so memory does
 * not grow with the number of users; the output depends only on the parameters.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { JsonlWriter } from '../jsonl-writer.js';
import { TabularStats, type TabularFeature, type TabularSchema } from '../tabular.js';
import { writeTabularSchema } from '../tabular-file.js';
import { FUTURE_WINDOW, HISTORY_WINDOW } from './behaviour.js';
import { SCENARIO_NAMES, scenarioLabels, type ScenarioName } from './scenarios.js';
import { SYNTH_TABULAR_FEATURES } from './tabular-features.js';
import { difficultySettings, evaluationLine, generateUser, trainingLines, type GeneratorParams } from './user.js';

export interface SynthOptions extends GeneratorParams {
  out: string;
  /** Training users. */
  users: number;
  /** Evaluation users (distinct people, written to eval/). */
  evalUsers: number;
  /** Held-out users u<users>… in training format, written to heldout/ (default 0: none). */
  heldOutUsers?: number;
  /** Training shard files. */
  shards: number;
  /** Write .jsonl.gz instead of .jsonl. */
  gzip: boolean;
  /** Replace existing train/ and eval/ folders under `out`. */
  force?: boolean;
  /** Called every 1,000 users with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface SynthSummary {
  generator: 'instructue-synth';
  version: 1;
  seed: number;
  difficulty: number;
  users: number;
  eval_users: number;
  /** Present when held-out users were written. */
  held_out_users?: number;
  shards: number;
  pairs_per_user: number;
  max_events: number;
  gzip: boolean;
  history: { start: string; days: number };
  future: { start: string; days: number };
  train_records: number;
  eval_records: number;
  files: Array<{ path: string; records: number }>;
  /** Share of positive labels per scenario in the evaluation set. */
  label_rates: Record<ScenarioName, number>;
}

export const SYNTH_SUMMARY_FILE = 'synth.json';
export const SYNTH_DEFAULTS = { shards: 4, difficulty: 0.5, evalUsers: 2000, pairsPerUser: 3, maxEvents: 10 } as const;

/** Generates a synthetic UserQA data set under `opts.out`; returns what synth.json holds. */
export function writeSynth(opts: SynthOptions): SynthSummary {
  checkOptions(opts);
  const ext = opts.gzip ? '.jsonl.gz' : '.jsonl';
  const trainDir = join(opts.out, 'train');
  const evalDir = join(opts.out, 'eval');
  const heldOutDir = join(opts.out, 'heldout');
  const heldOut = opts.heldOutUsers ?? 0;
  for (const dir of heldOut > 0 ? [trainDir, evalDir, heldOutDir] : [trainDir, evalDir]) {
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      if (!opts.force) throw new UsageError(`${dir} already holds files; pass --force to replace ${trainDir} and ${evalDir}`);
      rmSync(dir, { recursive: true });
    }
    mkdirSync(dir, { recursive: true });
  }
  const settings = difficultySettings(opts.difficulty);
  const total = opts.users + opts.evalUsers;
  const stats = new TabularStats();
  const files: SynthSummary['files'] = [];
  let trainRecords = 0;
  for (let k = 0; k < opts.shards; k++) {
    const writer = new JsonlWriter(join(trainDir, `part-${String(k).padStart(5, '0')}${ext}`));
    for (let i = Math.floor((k * opts.users) / opts.shards); i < Math.floor(((k + 1) * opts.users) / opts.shards); i++) {
      const user = generateUser(i, opts, 'train', settings);
      stats.add(user.tabular);
      for (const line of trainingLines(user, opts)) writer.write(line);
      if ((i + 1) % 1000 === 0) opts.onProgress?.(i + 1, total);
    }
    writer.close();
    files.push({ path: `train/${writer.path.slice(trainDir.length + 1)}`, records: writer.lines });
    trainRecords += writer.lines;
  }
  const positives = Object.fromEntries(SCENARIO_NAMES.map((s) => [s, 0])) as Record<ScenarioName, number>;
  const evalWriter = new JsonlWriter(join(evalDir, `part-00000${ext}`));
  for (let i = 0; i < opts.evalUsers; i++) {
    const user = generateUser(i, opts, 'eval', settings);
    const labels = scenarioLabels(user.traits, user.future);
    for (const s of SCENARIO_NAMES) positives[s] += labels[s];
    evalWriter.write(evaluationLine(user));
    if ((i + 1) % 1000 === 0) opts.onProgress?.(opts.users + i + 1, total);
  }
  evalWriter.close();
  files.push({ path: `eval/part-00000${ext}`, records: evalWriter.lines });
  if (heldOut > 0) {
    // Users after the training ones: the same population and generator, never trained on.
    const writer = new JsonlWriter(join(heldOutDir, `part-00000${ext}`));
    for (let i = opts.users; i < opts.users + heldOut; i++) for (const line of trainingLines(generateUser(i, opts, 'train', settings), opts)) writer.write(line);
    writer.close();
    files.push({ path: `heldout/part-00000${ext}`, records: writer.lines });
  }
  writeTabularSchema(opts.out, synthSchema(stats));
  const summary: SynthSummary = {
    generator: 'instructue-synth',
    version: 1,
    seed: opts.seed,
    difficulty: opts.difficulty,
    users: opts.users,
    eval_users: opts.evalUsers,
    ...(heldOut > 0 ? { held_out_users: heldOut } : {}),
    shards: opts.shards,
    pairs_per_user: opts.pairsPerUser,
    max_events: opts.maxEvents,
    gzip: opts.gzip,
    history: { start: dateOf(HISTORY_WINDOW.startDay), days: HISTORY_WINDOW.days },
    future: { start: dateOf(FUTURE_WINDOW.startDay), days: FUTURE_WINDOW.days },
    train_records: trainRecords,
    eval_records: evalWriter.lines,
    files,
    label_rates: Object.fromEntries(SCENARIO_NAMES.map((s) => [s, opts.evalUsers > 0 ? round4(positives[s] / opts.evalUsers) : 0])) as Record<ScenarioName, number>,
  };
  writeFileSync(join(opts.out, SYNTH_SUMMARY_FILE), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

function checkOptions(o: SynthOptions): void {
  const int = (v: number, name: string, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer ≥ ${min}; got ${v}`);
  };
  int(o.users, 'users', 1);
  int(o.evalUsers, 'eval-users', 0);
  int(o.heldOutUsers ?? 0, 'held-out-users', 0);
  int(o.shards, 'shards', 1);
  int(o.pairsPerUser, 'pairs-per-user', 0);
  int(o.maxEvents, 'max-events', 1);
  int(o.seed, 'seed', 0);
  if (o.shards > o.users) throw new UsageError(`--shards (${o.shards}) must not exceed --users (${o.users})`);
  if (!(o.difficulty >= 0 && o.difficulty <= 1)) throw new UsageError(`--difficulty must be between 0 and 1; got ${o.difficulty}`);
}

/**
 * The synthetic schema: features in SYNTH_TABULAR_FEATURES order, categorical ones with their
 * fixed category lists, numeric ones with the mean and std measured on the training users.
 */
function synthSchema(stats: TabularStats): TabularSchema {
  const measured = new Map(stats.schema().features.map((f) => [f.name, f]));
  return {
    features: SYNTH_TABULAR_FEATURES.map((f): TabularFeature => {
      if (f.kind === 'categorical') return { name: f.name, kind: 'categorical', categories: [...f.categories] };
      const m = measured.get(f.name);
      return m?.kind === 'numeric' ? m : { name: f.name, kind: 'numeric', mean: 0, std: 1 };
    }),
  };
}

function dateOf(day: number): string {
  return new Date(Date.UTC(2024, 0, 1 + day)).toISOString().slice(0, 10);
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
