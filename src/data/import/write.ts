/**
 * @module data/import/write
 * Puts a built import on disk: `DIR/train/part-*.jsonl` and/or `DIR/eval/part-*.jsonl` (users in
 * id order, split into K contiguous shards, a user's records never split), `DIR/tabular-schema.json`
 * and the summary `DIR/import.json` (or `DIR/import-eval.json` for an evaluation-only import,
 * which keeps an existing schema so the evaluation users are encoded like the training ones).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { JsonlWriter } from '../jsonl-writer.js';
import { TabularStats, type TabularSchema } from '../tabular.js';
import { TABULAR_SCHEMA_FILE, writeTabularSchema } from '../tabular-file.js';
import type { LengthBudget } from '../length-budget.js';
import type { BuiltImport, UserRecords } from './build.js';

export interface WriteOptions {
  out: string;
  shards: number;
  gzip: boolean;
  force?: boolean;
}

export interface SplitSummary {
  users: number;
  records: number;
  files: Array<{ path: string; records: number }>;
}

/** What import.json holds. */
export interface ImportSummary {
  /** Users written (with a cut time). */
  users: number;
  users_without_cut: number;
  events: { history: number; future: number };
  train: (SplitSummary & { general_skipped: number; pairs_skipped: number[] }) | null;
  eval: (SplitSummary & { labels: Record<string, { labelled: number; positives: number }> }) | null;
  /** Where the tabular schema came from: inferred from these users, or kept from an earlier import. */
  tabular_schema: 'inferred' | 'kept';
  length_budget: LengthBudget | null;
}

/** Writes the splits, the schema and the summary; returns the summary. */
export function writeImport(built: BuiltImport, opts: WriteOptions, budget: LengthBudget | null): ImportSummary {
  const train = built.train ? { ...writeSplit('train', built.train.users, opts), general_skipped: built.train.generalSkipped, pairs_skipped: built.train.pairsSkipped } : null;
  const evaluation = built.eval ? { ...writeSplit('eval', built.eval.users, opts), labels: built.eval.labels } : null;
  const schemaPath = join(opts.out, TABULAR_SCHEMA_FILE);
  const keep = !built.train && existsSync(schemaPath);
  if (!keep) writeTabularSchema(opts.out, inferImportSchema(built));
  const summary: ImportSummary = {
    users: built.users, users_without_cut: built.usersWithoutCut, events: built.events, train, eval: evaluation,
    tabular_schema: keep ? 'kept' : 'inferred', length_budget: budget,
  };
  writeFileSync(join(opts.out, built.train ? 'import.json' : 'import-eval.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

/** The tabular schema of an import: inferred from the training users (the evaluation users when there are none). */
export function inferImportSchema(built: BuiltImport): TabularSchema {
  const stats = new TabularStats();
  for (const u of (built.train ?? built.eval)!.users) stats.add(u.tabular);
  return stats.schema();
}

function writeSplit(name: 'train' | 'eval', users: UserRecords[], opts: WriteOptions): SplitSummary {
  const dir = join(opts.out, name);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!opts.force) throw new UsageError(`${dir} already holds files; pass --force to replace it`);
    rmSync(dir, { recursive: true });
  }
  if (opts.shards < 1 || opts.shards > Math.max(1, users.length)) throw new UsageError(`--shards must be between 1 and the number of ${name} users (${users.length})`);
  mkdirSync(dir, { recursive: true });
  const files: SplitSummary['files'] = [];
  let records = 0;
  for (let k = 0; k < opts.shards; k++) {
    const file = `part-${String(k).padStart(5, '0')}${opts.gzip ? '.jsonl.gz' : '.jsonl'}`;
    const writer = new JsonlWriter(join(dir, file));
    for (let i = Math.floor((k * users.length) / opts.shards); i < Math.floor(((k + 1) * users.length) / opts.shards); i++) {
      for (const r of users[i]!.records) writer.write(JSON.stringify(r));
    }
    writer.close();
    files.push({ path: `${name}/${file}`, records: writer.lines });
    records += writer.lines;
  }
  return { users: users.length, records, files };
}
