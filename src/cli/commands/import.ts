/**
 * @module cli/commands/import
 * `instructue import`: turns your own event and user tables (CSV or JSONL) into UserQA shards,
 * with instruction–answer pairs from a rules file (docs/import.md).
 */
import { runImport } from '../../data/import/build.js';
import { loadImportRules } from '../../data/import/rules.js';
import { intFlag, parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue import --events FILE[,FILE…] --rules RULES.json --out DIR [flags]

Builds UserQA records (docs/data-format.md) from generic tables; see docs/import.md and
configs/import/example-rules.json.

  --events FILES   event tables (.csv, .jsonl, .jsonl.gz), comma-separated or repeated:
                   one row per event with user id, source, time stamp and any other fields
  --users FILE     user attribute table (user id + attributes → tabular; label columns → labels)
  --rules FILE     rules: column names, source mapping, cutoff date, labels, answer templates
  --out DIR        output folder: DIR/train/part-*.jsonl, DIR/tabular-schema.json, DIR/import.json
  --shards K       output shard files (default 1)
  --gzip           write .jsonl.gz shards
  --force          replace DIR/train if it holds files
  --json           print import.json as JSON`;

const command: Command = {
  name: 'import',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      events: { type: 'string', multiple: true },
      users: { type: 'string' },
      rules: { type: 'string' },
      out: { type: 'string' },
      shards: { type: 'string' },
      gzip: { type: 'boolean' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    }, usage);
    const events = required(values.events, 'events', usage).flatMap((v) => v.split(',')).filter(Boolean);
    const summary = await runImport({
      events,
      users: values.users ?? '',
      rules: loadImportRules(required(values.rules, 'rules', usage)),
      out: required(values.out, 'out', usage),
      shards: intFlag(values.shards, 'shards', 1)!,
      gzip: values.gzip ?? false,
      force: values.force ?? false,
    });
    if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      process.stdout.write(
        `wrote ${summary.records} records for ${summary.users} users (${summary.events.history} history and ` +
          `${summary.events.future} future events) to ${values.out}\n`,
      );
      summary.pairs_skipped.forEach((n, i) => n > 0 && process.stdout.write(`pair ${i}: left out for ${n} users (an aggregate had no value)\n`));
    }
    return 0;
  },
};

export default command;
