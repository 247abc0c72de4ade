/**
 * @module data/import/build
 * `instructue import` as a library call: groups event-table rows by user into the four sources
 * (history before the rules' cutoff, future from it on), joins the user-attribute table as
 * tabular values (and labels), fills the rules' templates per user, and writes validated UserQA
 * shards plus tabular-schema.json and import.json. All users are held in memory while grouping
 * (events arrive in any order), so very large logs should be split by user first.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, UsageError } from '../../errors.js';
import { JsonlWriter } from '../jsonl-writer.js';
import { recentEvents } from '../render.js';
import { TabularStats } from '../tabular.js';
import { writeTabularSchema } from '../tabular-file.js';
import { SOURCE_NAMES, type SourceEvent, type SourceName, type UserQARecord } from '../types.js';
import { isIsoTimestamp, validateRecord } from '../validate.js';
import type { ImportRules } from './rules.js';
import { readTable, type Cell } from './tables.js';
import { renderTemplate, type UserView } from './template.js';

export interface ImportOptions {
  events: string[];
  /** User attribute table ('' = none). */
  users: string;
  rules: ImportRules;
  out: string;
  shards: number;
  gzip: boolean;
  force?: boolean;
}

export interface ImportSummary {
  users: number;
  records: number;
  events: { history: number; future: number };
  /** Users without a general-mode record because its answer had no value. */
  general_skipped: number;
  /** Per pair (in rules order): users for whom the answer had no value, so the pair was left out. */
  pairs_skipped: number[];
  files: Array<{ path: string; records: number }>;
}

interface UserData extends UserView {
  labels: Record<string, 0 | 1>;
}

/** Runs an import; returns what import.json holds. */
export async function runImport(opts: ImportOptions): Promise<ImportSummary> {
  const users = new Map<string, UserData>();
  const user = (id: string): UserData => {
    let u = users.get(id);
    if (!u) users.set(id, (u = { history: emptySources(), future: emptySources(), attrs: {}, labels: {} }));
    return u;
  };
  const { rules } = opts;
  const counts = { history: 0, future: 0 };
  for (const file of opts.events) {
    for await (const { line, row } of readTable(file)) {
      const { [rules.columns.user_id]: id, [rules.columns.source]: rawSource, [rules.columns.timestamp]: rawTs, ...fields } = row;
      if (id === undefined || id === '') throw new DataError(file, line, rules.columns.user_id, 'missing user id');
      const source = rules.sources[String(rawSource)];
      if (!source) throw new DataError(file, line, rules.columns.source, `unknown source ${JSON.stringify(rawSource)}; map it to one of ${SOURCE_NAMES.join(', ')} under "sources" in the rules`);
      const ts = normaliseTimestamp(rawTs);
      if (ts === null) throw new DataError(file, line, rules.columns.timestamp, `must be an ISO-8601 date/date-time or Unix seconds/milliseconds; got ${JSON.stringify(rawTs)}`);
      if ('ts' in fields) throw new DataError(file, line, 'ts', `the column "ts" is reserved for the time stamp; rename it, or set columns.timestamp to "ts"`);
      const future = rules.cutoff !== '' && ts.slice(0, 10) >= rules.cutoff;
      user(String(id))[future ? 'future' : 'history'][source].push({ ts, ...fields });
      counts[future ? 'future' : 'history']++;
    }
  }
  if (opts.users !== '') await joinUserTable(opts.users, rules, user);
  const ids = [...users.keys()].sort();
  const records = ids.map((id) => buildRecords(id, users.get(id)!, rules));
  return write(opts, ids, records, users, counts);
}

async function joinUserTable(file: string, rules: ImportRules, user: (id: string) => UserData): Promise<void> {
  const seen = new Set<string>();
  for await (const { line, row } of readTable(file)) {
    const { [rules.columns.user_id]: id, ...attrs } = row;
    if (id === undefined || id === '') throw new DataError(file, line, rules.columns.user_id, 'missing user id');
    if (seen.has(String(id))) throw new DataError(file, line, rules.columns.user_id, `user ${JSON.stringify(id)} appears twice in the user table`);
    seen.add(String(id));
    const u = user(String(id));
    for (const [name, value] of Object.entries(attrs)) {
      if (rules.labels.includes(name)) {
        if (value !== 0 && value !== 1) throw new DataError(file, line, name, `label columns must hold 0 or 1; got ${JSON.stringify(value)}`);
        u.labels[name] = value;
      } else {
        u.attrs[name] = typeof value === 'boolean' ? String(value) : value;
      }
    }
  }
}

/** A user's records: the general-mode one (if the rules have one), then one per pair with a value. */
interface Built {
  records: UserQARecord[];
  generalSkipped: boolean;
  /** Per pair: left out because the answer had no value. */
  skipped: boolean[];
}

function buildRecords(id: string, u: UserData, rules: ImportRules): Built {
  for (const s of SOURCE_NAMES) {
    u.history[s] = recentEvents(u.history[s], Number.MAX_SAFE_INTEGER);
    u.future[s] = recentEvents(u.future[s], Number.MAX_SAFE_INTEGER);
  }
  const base = (instruction: string | null, answer: string): UserQARecord => {
    const r: UserQARecord = { user_id: id, sources: u.history, tabular: u.attrs, instruction, answer };
    if (Object.keys(u.labels).length > 0) r.labels = u.labels;
    return r;
  };
  const records: UserQARecord[] = [];
  const general = rules.general === null ? null : renderTemplate(rules.general, u);
  if (typeof general === 'string') records.push(base(null, general));
  const skipped = rules.pairs.map((pair) => {
    const answer = renderTemplate(pair.answer, u);
    if (answer !== undefined) records.push(base(pair.instruction, answer));
    return answer === undefined;
  });
  return { records, generalSkipped: general === undefined, skipped };
}

function write(opts: ImportOptions, ids: string[], built: Built[], users: Map<string, UserData>, events: ImportSummary['events']): ImportSummary {
  const dir = join(opts.out, 'train');
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!opts.force) throw new UsageError(`${dir} already holds files; pass --force to replace it`);
    rmSync(dir, { recursive: true });
  }
  mkdirSync(dir, { recursive: true });
  if (opts.shards < 1 || opts.shards > Math.max(1, ids.length)) throw new UsageError(`--shards must be between 1 and the number of users (${ids.length})`);
  const files: ImportSummary['files'] = [];
  let records = 0;
  for (let k = 0; k < opts.shards; k++) {
    const name = `part-${String(k).padStart(5, '0')}${opts.gzip ? '.jsonl.gz' : '.jsonl'}`;
    const writer = new JsonlWriter(join(dir, name));
    for (let i = Math.floor((k * ids.length) / opts.shards); i < Math.floor(((k + 1) * ids.length) / opts.shards); i++) {
      // Validated as the reader will: a record it would refuse is never written.
      for (const r of built[i].records) writer.write(JSON.stringify(validateRecord(r, writer.path, writer.lines + 1)));
    }
    writer.close();
    files.push({ path: `train/${name}`, records: writer.lines });
    records += writer.lines;
  }
  const stats = new TabularStats();
  for (const u of users.values()) stats.add(u.attrs);
  writeTabularSchema(opts.out, stats.schema());
  const summary: ImportSummary = {
    users: ids.length,
    records,
    events,
    general_skipped: built.filter((b) => b.generalSkipped).length,
    pairs_skipped: opts.rules.pairs.map((_, p) => built.filter((b) => b.skipped[p]).length),
    files,
  };
  writeFileSync(join(opts.out, 'import.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

/** ISO-8601 text as is; Unix seconds (< 1e11) or milliseconds as `YYYY-MM-DDTHH:MM:SSZ`; else null. */
function normaliseTimestamp(value: Cell | undefined): string | null {
  if (typeof value === 'string') return isIsoTimestamp(value.trim()) ? value.trim() : null;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    return new Date(value < 1e11 ? value * 1000 : value).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return null;
}

function emptySources(): Record<SourceName, SourceEvent[]> {
  return { bill: [], minipro: [], spm: [], search: [] };
}
