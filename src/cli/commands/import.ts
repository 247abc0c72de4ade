/**
 * @module cli/commands/import
 * `instructue import`: turns your own event, wide and user tables (CSV or JSONL, plain or
 * gzipped) into UserQA shards — training records with rule-based answers and/or labelled
 * evaluation records — and reports how much of each record the model's length budget keeps
 * (docs/import.md).
 */
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/load.js';
import { UsageError, ConfigError } from '../../errors.js';
import { encodeContextOf } from '../../model/encode-context.js';
import { buildImport, DEFAULT_SPLIT_SEED, type BuiltImport } from '../../data/import/build.js';
import { loadImportRules } from '../../data/import/rules.js';
import { inferImportSchema, writeImport } from '../../data/import/write.js';
import { budgetLayoutOf, formatLengthBudget, LengthBudgetMeter, type LengthBudget } from '../../data/length-budget.js';
import { runTokenizers } from '../../train/run-model.js';
import { intFlag, numberFlag, parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

/** The tiny preset of this checkout (dist/src/cli/commands → repo root). */
const TINY_PRESET = fileURLToPath(new URL('../../../../configs/tiny.json', import.meta.url));

const usage = `usage: instructue import (--events FILES | --wide FILES) --rules RULES.json --out DIR [flags]

Builds UserQA records (docs/data-format.md) from generic tables; see docs/import.md and the
examples in configs/import/.

  --events FILES   event tables (.csv, .csv.gz, .jsonl, .jsonl.gz), comma-separated or repeated:
                   one row per event with user id, source, time stamp and any other fields
  --wide FILES     wide tables: one row per user, one column per period and measure; the
                   rules' "wide" section maps column patterns such as PAY_AMT{1..6} to events
  --users FILE     user attribute table (user id + attributes → tabular; label columns → labels)
  --rules FILE     rules: columns, sources (slots, render templates), cutoff, labels, answers
  --out DIR        output folder: DIR/train/ and/or DIR/eval/ part-*.jsonl, DIR/tabular-schema.json,
                   DIR/import.json (DIR/import-eval.json for --eval)
  --eval           write every user to DIR/eval/ as a labelled evaluation set (general mode,
                   empty answer, the rules' labels); keeps an existing DIR/tabular-schema.json
  --eval-share X   write a hash-chosen share X of the users to DIR/eval/ and the rest to
                   DIR/train/ (disjoint users)
  --split-seed S   seed of that choice (default "${DEFAULT_SPLIT_SEED}")
  --shards K       output shard files per split (default 1)
  --gzip           write .jsonl.gz shards
  --force          replace DIR/train (DIR/eval) if it holds files
  --config FILE    model config whose budget is checked (default configs/tiny.json)
  --set KEY=VALUE  override a key of that config, e.g. --set model.encoder.max_len=64 (repeatable)
  --truncation-warn SHARE  warn when a length budget cuts more than this share (default 0.01)
  --fail-on-truncation     exit 2, writing nothing, when any budget warns
  --budget-users N         measure the budget on at most N users, evenly spread (default 2000)
  --json           print import.json as JSON`;

const command: Command = {
  name: 'import',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      events: { type: 'string', multiple: true }, wide: { type: 'string', multiple: true }, users: { type: 'string' },
      rules: { type: 'string' }, out: { type: 'string' }, shards: { type: 'string' }, gzip: { type: 'boolean' },
      force: { type: 'boolean' }, json: { type: 'boolean' }, eval: { type: 'boolean' }, 'eval-share': { type: 'string' },
      'split-seed': { type: 'string' }, config: { type: 'string' }, set: { type: 'string', multiple: true },
      'truncation-warn': { type: 'string' }, 'fail-on-truncation': { type: 'boolean' }, 'budget-users': { type: 'string' },
    }, usage);
    const list = (v: string[] | undefined) => (v ?? []).flatMap((x) => x.split(',')).filter(Boolean);
    const events = list(values.events);
    const wide = list(values.wide);
    if (events.length === 0 && wide.length === 0) throw new UsageError(`give --events and/or --wide\n\n${usage}`);
    if (values.eval && values['eval-share'] !== undefined) throw new UsageError('give --eval (every user to DIR/eval/) or --eval-share X, not both');
    const out = required(values.out, 'out', usage);
    const evalShare = values.eval ? 1 : numberFlag(values['eval-share'], 'eval-share', 0)!;
    const threshold = numberFlag(values['truncation-warn'], 'truncation-warn', 0.01)!;
    if (!(threshold >= 0 && threshold < 1)) throw new UsageError(`--truncation-warn must be a share in [0, 1); got ${threshold}`);
    const budgetUsers = intFlag(values['budget-users'], 'budget-users', 2000)!;
    // The model config is read first, so a bad --config fails before the tables are read.
    const config = loadConfig({ file: values.config ?? TINY_PRESET, env: {}, sets: values.set });
    const built = await buildImport({
      events, wide, users: values.users ?? '', rules: loadImportRules(required(values.rules, 'rules', usage)),
      evalShare, splitSeed: values['split-seed'],
    });
    if (built.users === 0) throw new ConfigError(`no user has events or attributes with a cut time (${built.usersWithoutCut} without one); check the tables and the rules' "cutoff"`);
    const budget = await measure(built, config, threshold, budgetUsers);
    process.stderr.write(formatLengthBudget(budget));
    if (values['fail-on-truncation'] && budget.warnings.length > 0) {
      throw new ConfigError(`--fail-on-truncation: ${budget.warnings.length} length budget(s) of ${values.config ?? 'configs/tiny.json'} cut more than ${(100 * threshold).toFixed(1)} % (warnings above); nothing was written`);
    }
    const summary = writeImport(built, { out, shards: intFlag(values.shards, 'shards', 1)!, gzip: values.gzip ?? false, force: values.force ?? false }, budget);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return 0;
    }
    const parts = [
      summary.train && `${summary.train.records} training records for ${summary.train.users} users`,
      summary.eval && `${summary.eval.records} evaluation records for ${summary.eval.users} users`,
    ].filter(Boolean);
    process.stdout.write(`wrote ${parts.join(' and ')} (${summary.events.history} history and ${summary.events.future} future events) to ${out}\n`);
    if (summary.users_without_cut > 0) process.stdout.write(`left out ${summary.users_without_cut} users without a cut time\n`);
    summary.train?.pairs_skipped.forEach((n, i) => n > 0 && process.stdout.write(`pair ${i}: left out for ${n} users (an aggregate had no value)\n`));
    for (const [name, l] of Object.entries(summary.eval?.labels ?? {})) process.stdout.write(`label ${name}: ${l.positives} positive of ${l.labelled} labelled\n`);
    return 0;
  },
};

/** The length budget of the records to be written, on up to `maxUsers` users spread evenly over the id order. */
async function measure(built: BuiltImport, config: ReturnType<typeof loadConfig>, threshold: number, maxUsers: number): Promise<LengthBudget> {
  // The run's tokenizers without its weights; the built-in vocabulary is the one src/train/run-model.ts gives the tiny preset.
  const tokenizers = await runTokenizers(config);
  const context = encodeContextOf(config, tokenizers, inferImportSchema(built));
  const users = [...(built.train?.users ?? []), ...(built.eval?.users ?? [])];
  const stride = Math.max(1, Math.ceil(users.length / Math.max(1, maxUsers)));
  const meter = new LengthBudgetMeter(context, budgetLayoutOf(config.model, tokenizers.decoderTokenizer), { threshold, sampled: stride > 1 });
  for (let i = 0; i < users.length; i += stride) for (const r of users[i]!.records) meter.add(r);
  return meter.result();
}

export default command;
