/**
 * @module cli/commands/synth
 * `instructue synth`: writes the synthetic UserQA data set (training shards, a labelled
 * evaluation file, tabular-schema.json, synth.json); with --report also prints the calibration
 * probe (bag-of-events + tabular logistic regression per scenario).
 */
import { join } from 'node:path';
import { CALIBRATION_RANGE, calibrationReport } from '../../data/synth/calibrate.js';
import { SYNTH_DEFAULTS, writeSynth } from '../../data/synth/write.js';
import { readTabularSchema, TABULAR_SCHEMA_FILE } from '../../data/tabular-file.js';
import { formatProbeMarkdown } from '../../eval/probe.js';
import { intFlag, numberFlag, parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue synth --users N --out DIR [flags]

Generates synthetic multi-source users (bill, mini program, page positions, search, tabular)
with UserQA training records and a labelled evaluation set (docs/data-format.md).

  --users N            training users (each gives 1 general + --pairs-per-user records)
  --out DIR            output folder: DIR/train/, DIR/eval/, DIR/tabular-schema.json, DIR/synth.json
  --seed S             seed; the same flags give byte-identical output (default 1234)
  --shards K           training shard files (default ${SYNTH_DEFAULTS.shards})
  --eval-users M       evaluation users, one labelled record each (default ${SYNTH_DEFAULTS.evalUsers})
  --held-out-users H   further training-population users in training format, written to
                       DIR/heldout/ and never trained on (for retrieval checks; default 0)
  --difficulty X       0 (clean, strong signals) … 1 (noisy, weak signals) (default ${SYNTH_DEFAULTS.difficulty})
  --pairs-per-user P   instruction–answer records per training user (default ${SYNTH_DEFAULTS.pairsPerUser})
  --max-events E       most recent history events kept per source (default ${SYNTH_DEFAULTS.maxEvents})
  --gzip               write .jsonl.gz shards
  --force              replace DIR/train and DIR/eval if they hold files
  --report             print the calibration probe (AUC/KS per scenario of a logistic
                       regression on bag-of-events counts + tabular features)
  --json               print synth.json (and the report) as JSON`;

const command: Command = {
  name: 'synth',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      users: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      shards: { type: 'string' },
      'eval-users': { type: 'string' },
      'held-out-users': { type: 'string' },
      difficulty: { type: 'string' },
      'pairs-per-user': { type: 'string' },
      'max-events': { type: 'string' },
      gzip: { type: 'boolean' },
      force: { type: 'boolean' },
      report: { type: 'boolean' },
      json: { type: 'boolean' },
    }, usage);
    const out = required(values.out, 'out', usage);
    const users = intFlag(required(values.users, 'users', usage), 'users')!;
    const progress = process.stderr.isTTY && !values.json;
    const started = performance.now();
    const summary = writeSynth({
      out,
      users,
      seed: intFlag(values.seed, 'seed', 1234)!,
      shards: intFlag(values.shards, 'shards', SYNTH_DEFAULTS.shards)!,
      evalUsers: intFlag(values['eval-users'], 'eval-users', SYNTH_DEFAULTS.evalUsers)!,
      heldOutUsers: intFlag(values['held-out-users'], 'held-out-users', 0)!,
      difficulty: numberFlag(values.difficulty, 'difficulty', SYNTH_DEFAULTS.difficulty)!,
      pairsPerUser: intFlag(values['pairs-per-user'], 'pairs-per-user', SYNTH_DEFAULTS.pairsPerUser)!,
      maxEvents: intFlag(values['max-events'], 'max-events', SYNTH_DEFAULTS.maxEvents)!,
      gzip: values.gzip ?? false,
      force: values.force ?? false,
      onProgress: progress ? (done, total) => process.stderr.write(`\rsynth: ${done}/${total} users`) : undefined,
    });
    if (progress) process.stderr.write('\n');
    const seconds = (performance.now() - started) / 1000;
    const report = values.report && summary.eval_users > 0 ? await calibrationReport(join(out, 'eval'), readTabularSchema(join(out, TABULAR_SCHEMA_FILE))) : null;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...summary, report }, null, 2)}\n`);
      return 0;
    }
    const usersPerSecond = Math.round((summary.users + summary.eval_users) / seconds);
    process.stdout.write(
      `wrote ${summary.train_records} training records (${summary.users} users, ${summary.shards} shards) and ` +
        `${summary.eval_records} evaluation records to ${out} in ${seconds.toFixed(1)} s (${usersPerSecond} users/s)\n`,
    );
    if (report) {
      const [lo, hi] = CALIBRATION_RANGE;
      const outside = report.scenarios.filter((s) => s.auc < lo || s.auc > hi).map((s) => s.scenario);
      process.stdout.write(`\n${formatProbeMarkdown(report, 'Calibration: bag-of-events + tabular features')}`);
      process.stdout.write(outside.length === 0 ? `Every scenario is within [${lo}, ${hi}].\n` : `Outside [${lo}, ${hi}]: ${outside.join(', ')}.\n`);
    }
    return 0;
  },
};

export default command;
