/**
 * @module scripts/quality-exp
 * Research driver for the embedding-quality work (docs/quality.md): trains one configuration on
 * a synthetic data set exactly as the report does (the single-process trainer, a preset plus
 * overrides), then measures what the report measures — the six-scenario linear probe of the
 * universal embedding (and optionally of each written instruction) and shortcut-free retrieval
 * on held-out users — for the trained model and, with --untrained, for its random init. One
 * JSON line per model goes to stdout and to OUT/results.jsonl.
 *
 *   node bin/instructue.js synth --users 2000 --eval-users 2000 --held-out-users 300 --out runs/q/d2k
 *   node dist/scripts/quality-exp.js --data runs/q/d2k --out runs/q/base --config configs/small.json \
 *     [--steps 300] [--batch 64] [--seed 1234] [--set key=value ...] [--untrained] [--written] [--eval-users 1000]
 *
 * --steps 0 skips training (with --untrained: only the init is measured). Retrieval cells read
 * `top-1 % / chance top-1 % L<L_cl>` (src/eval/retrieval.ts), scored on batch-centred rows when
 * the run trains with train.center.
 */
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend/select.js';
import { loadConfig, type Frozen } from '../src/config/load.js';
import type { InstructueConfig } from '../src/config/schema.js';
import { readSamples } from '../src/data/reader.js';
import { SCENARIO_INSTRUCTIONS, SCENARIO_NAMES } from '../src/data/synth/scenarios.js';
import { readTabularSchema, TABULAR_SCHEMA_FILE } from '../src/data/tabular-file.js';
import type { Sample } from '../src/data/types.js';
import { embedMany } from '../src/eval/batched-embed.js';
import { runProbe } from '../src/eval/probe.js';
import { retrievalScores, type RetrievalResult } from '../src/eval/retrieval.js';
import { silentLogger } from '../src/log.js';
import type { BuiltModel } from '../src/model/build.js';
import { encodeContextOf } from '../src/model/encode-context.js';
import { loadTrainedModel } from '../src/train/load-trained.js';
import { trainLocal } from '../src/train/local-trainer.js';
import { readJsonLines, runPaths } from '../src/train/run-dir.js';
import { buildRunModel } from '../src/train/run-model.js';

async function readAll(path: string, limit = Infinity): Promise<Sample[]> {
  const out: Sample[] = [];
  for await (const s of readSamples(path, { onInvalid: 'fail' })) {
    if (out.length >= limit) break;
    out.push(s);
  }
  return out;
}

const pct = (x: number) => Math.round(x * 10000) / 100;

/** Probe AUCs (%, per scenario and mean) of the universal embedding and, optionally, each written instruction. */
async function measure(built: BuiltModel, config: Frozen<InstructueConfig>, evalSamples: Sample[], heldOut: Sample[], written: boolean) {
  const schema = readTabularSchema(join(config.data.train, '..', TABULAR_SCHEMA_FILE));
  const context = encodeContextOf(config, built, schema);
  const jobs = [{ instruction: null }, ...(written ? SCENARIO_NAMES.map((s) => ({ instruction: SCENARIO_INSTRUCTIONS[s] })) : [])];
  const [universal, ...perScenario] = await embedMany(built.model, evalSamples, { context, batch: 32, jobs });
  const labels = (s: string) => Float64Array.from(evalSamples, (x) => x.record.labels?.[s] ?? NaN);
  const probe = (e: typeof universal, names: readonly string[]) =>
    runProbe(e!.embeddings, e!.n, e!.d, e!.userIds, Object.fromEntries(names.map((s) => [s, labels(s)])), { bootstrap: 0 }).scenarios;
  const u = probe(universal, SCENARIO_NAMES);
  const mean = (xs: number[]) => pct(xs.reduce((a, b) => a + b, 0) / xs.length);
  const out: Record<string, unknown> = { universal: mean(u.map((s) => s.auc)), per: u.map((s) => pct(s.auc)) };
  if (written) {
    const w = SCENARIO_NAMES.map((s, i) => probe(perScenario[i], [s])[0]!.auc);
    out.written = mean(w);
    out.writtenPer = w.map(pct);
  }
  if (heldOut.length > 0) {
    const r: RetrievalResult = retrievalScores(built.model, heldOut, { context, batch: 16, tau: config.train.tau, seed: config.seed, center: config.train.center });
    const f = (s: RetrievalResult['mixed']) => (s ? `${pct(s.top1)}/${pct(s.chanceTop1)} L${s.loss.toFixed(2)}` : '–');
    out.retrieval = { general: f(r.noInstruction), topic: f(r.sameTopic), mixed: f(r.mixed) };
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' }, out: { type: 'string' }, config: { type: 'string', default: 'configs/small.json' },
      steps: { type: 'string' }, batch: { type: 'string' }, seed: { type: 'string' }, set: { type: 'string', multiple: true, default: [] },
      untrained: { type: 'boolean' }, written: { type: 'boolean' }, 'eval-users': { type: 'string', default: '2000' }, tag: { type: 'string' },
    },
  });
  if (!values.data || !values.out) throw new Error('usage: quality-exp --data SYNTH_DIR --out RUN_DIR [--config FILE] [--steps N] [--batch B] [--seed S] [--set k=v ...] [--untrained] [--written]');
  const overrides: Record<string, unknown> = {
    'data.train': join(values.data, 'train'), 'data.eval': join(values.data, 'eval'), 'train.checkpoint_every': 0,
    ...(values.steps ? { 'train.steps': Number(values.steps) } : {}),
    ...(values.batch ? { 'train.global_batch': Number(values.batch) } : {}),
    ...(values.seed ? { seed: Number(values.seed) } : {}),
  };
  for (const kv of values.set!) {
    const at = kv.indexOf('=');
    const raw = kv.slice(at + 1);
    overrides[kv.slice(0, at)] = /^(-?[\d.e+-]+|true|false)$/.test(raw) ? JSON.parse(raw) : raw;
  }
  const config = loadConfig({ file: values.config, env: {}, overrides });
  const tag = values.tag ?? values.out;
  const evalSamples = await readAll(join(values.data, 'eval'), Number(values['eval-users']));
  const heldOut = await readAll(join(values.data, 'heldout')).catch(() => [] as Sample[]);
  const emit = (row: Record<string, unknown>) => {
    const line = JSON.stringify({ tag, ...row });
    process.stdout.write(`${line}\n`);
    mkdirSync(values.out!, { recursive: true });
    appendFileSync(join(values.out!, 'results.jsonl'), `${line}\n`);
  };
  await selectBackend(config.backend, silentLogger, { cuda: config.cuda, webgpu: config.webgpu });
  if (values.untrained) {
    const schema = readTabularSchema(join(values.data, TABULAR_SCHEMA_FILE));
    const built = await buildRunModel(config, schema, silentLogger);
    try {
      emit({ row: 'untrained', ...(await measure(built, config, evalSamples, heldOut, Boolean(values.written))) });
    } finally {
      built.model.dispose();
    }
  }
  if (config.train.steps === 0) return;
  rmSync(join(values.out, 'run'), { recursive: true, force: true });
  const started = performance.now();
  await trainLocal({ config, out: join(values.out, 'run'), resume: false, allowConfigChange: false, log: silentLogger });
  const seconds = Math.round((performance.now() - started) / 1000);
  const lines = readJsonLines<Record<string, number | null>>(runPaths(join(values.out, 'run')).metrics);
  const ends = (key: string) => {
    const m = (xs: typeof lines) => xs.reduce((a, l) => a + (l[key] ?? NaN), 0) / xs.length;
    return `${m(lines.slice(0, 10)).toFixed(3)}→${m(lines.slice(-10)).toFixed(3)}`;
  };
  const trained = await loadTrainedModel({ run: join(values.out, 'run'), log: silentLogger });
  try {
    emit({ row: 'trained', steps: config.train.steps, batch: config.train.global_batch, seconds, lm: ends('loss_lm'), cl: ends('loss_cl'), set: values.set, ...(await measure(trained.built, trained.config, evalSamples, heldOut, Boolean(values.written))) });
  } finally {
    trained.built.model.dispose();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
