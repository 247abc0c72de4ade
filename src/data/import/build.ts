/**
 * @module data/import/build
 * `instructue import` as a library call, in memory: reads the event tables (one row per event),
 * wide tables (one row per user, one column per period) and the user table; gives every user
 * their cut time and splits their events into history and future window; evaluates labels and
 * answer templates; assigns users to the training and/or evaluation split; and returns the
 * UserQA records (validated as the reader will). `write.ts` puts them on disk. All users are
 * held in memory while grouping (events arrive in any order), so very large logs should be
 * split by user first.
 */
import { createHash } from 'node:crypto';
import { DataError, UsageError } from '../../errors.js';
import { SOURCE_NAMES, type SourceEvent, type SourceName, type UserQARecord } from '../types.js';
import { validateRecord } from '../validate.js';
import { userCut } from './cut.js';
import type { ImportRules } from './rules.js';
import { recordEvent, type SourceSpec } from './sources.js';
import { readTable, type Cell } from './tables.js';
import { renderTemplate, templateValue, userScope, type UserView } from './template.js';
import { isoToMs, normaliseTimestamp } from './time.js';
import { checkWideHeader, wideColumns, wideEvents } from './wide.js';

export interface ImportOptions {
  /** Event tables; `SOURCE=FILE` reads a table without a source column, all of whose rows are of SOURCE. */
  events: string[];
  /** Wide tables (one row per user; the rules' `wide` patterns). */
  wide?: string[];
  /** User attribute table ('' = none). */
  users: string;
  rules: ImportRules;
  /**
   * Share of users (by a hash of the id) written to the evaluation split: 0 = training only
   * (default), 1 = evaluation only (`import --eval`), in between = both, disjoint.
   */
  evalShare?: number;
  /** Seed of that hash (default "instructue-import"). */
  splitSeed?: string;
}

/** One user's records of one split. */
export interface UserRecords {
  user: string;
  /** The user's tabular values (also when every record was left out). */
  tabular: Record<string, string | number>;
  records: UserQARecord[];
}

export interface BuiltImport {
  /** Users with a cut time, in id order, and which split each went to. */
  users: number;
  /** Users left out because the cut rule gave them no cut time. */
  usersWithoutCut: number;
  events: { history: number; future: number };
  train: { users: UserRecords[]; generalSkipped: number; pairsSkipped: number[] } | null;
  eval: { users: UserRecords[]; labels: Record<string, { labelled: number; positives: number }> } | null;
}

interface RawEvent {
  spec: SourceSpec;
  ts: string;
  ms: number;
  fields: Record<string, Cell>;
}

interface RawUser {
  events: RawEvent[];
  attrs: Record<string, Cell>;
  /** Where the user first appears, for errors about computed values. */
  where: { file: string; line: number };
}

export const DEFAULT_SPLIT_SEED = 'instructue-import';

/** Reads every table and builds the records. */
export async function buildImport(opts: ImportOptions): Promise<BuiltImport> {
  const { rules } = opts;
  const evalShare = opts.evalShare ?? 0;
  if (!(evalShare >= 0 && evalShare <= 1)) throw new UsageError(`--eval-share must be between 0 and 1; got ${evalShare}`);
  if ((opts.wide ?? []).length > 0 && rules.wide.length === 0) throw new UsageError(`--wide needs a "wide" section in ${rules.file} (the column patterns and period dates; docs/import.md)`);
  const users = new Map<string, RawUser>();
  const user = (id: Cell | undefined, file: string, line: number): RawUser => {
    if (id === undefined || id === '') throw new DataError(file, line, rules.columns.user_id, 'missing user id');
    let u = users.get(String(id));
    if (!u) users.set(String(id), (u = { events: [], attrs: {}, where: { file, line } }));
    return u;
  };
  for (const arg of opts.events) {
    const eq = arg.indexOf('=');
    const named = eq > 0 && rules.sources.has(arg.slice(0, eq));
    await readEvents(named ? arg.slice(eq + 1) : arg, rules, user, named ? arg.slice(0, eq) : null);
  }
  for (const file of opts.wide ?? []) await readWide(file, rules, user);
  if (opts.users !== '') await readAttributes(opts.users, rules, user, new Set());

  const counts = { history: 0, future: 0 };
  let usersWithoutCut = 0;
  const built: Array<{ id: string; view: UserView; sources: Record<SourceName, SourceEvent[]>; tabular: Record<string, string | number>; labels: Record<string, 0 | 1> }> = [];
  for (const id of [...users.keys()].sort()) {
    const u = users.get(id)!;
    // Stable sort: events at the same time keep their file order.
    u.events.sort((a, b) => a.ms - b.ms);
    const cut = userCut(rules.cut, u.events.map((e) => e.ms), rules.cut.kind === 'column' ? u.attrs[rules.cut.column] : undefined);
    if (cut === null) {
      usersWithoutCut++;
      continue;
    }
    const history = new Map<string, SourceEvent[]>();
    const future = new Map<string, SourceEvent[]>();
    for (const name of rules.sources.keys()) {
      history.set(name, []);
      future.set(name, []);
    }
    const sources: Record<SourceName, SourceEvent[]> = { bill: [], minipro: [], spm: [], search: [] };
    for (const e of u.events) {
      const isFuture = e.ms >= cut;
      counts[isFuture ? 'future' : 'history']++;
      const full: SourceEvent = { ts: e.ts, ...e.fields };
      const into = isFuture ? future : history;
      into.get(e.spec.name)!.push(full);
      if (e.spec.name !== e.spec.slot) into.get(e.spec.slot)!.push(full);
      if (!isFuture) sources[e.spec.slot].push(recordEvent(e.spec, e.ts, e.fields));
    }
    const attrs: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(u.attrs)) attrs[k] = typeof v === 'boolean' ? String(v) : v;
    const tabular: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(attrs)) if (!rules.hiddenAttributes.has(k)) tabular[k] = v;
    const view: UserView = { history, future, attrs };
    built.push({ id, view, sources, tabular, labels: evaluateLabels(rules, view, id, u) });
  }

  const inEval = (id: string) => evalShare >= 1 || (evalShare > 0 && hashShare(opts.splitSeed ?? DEFAULT_SPLIT_SEED, id) < evalShare);
  const trainUsers = built.filter((b) => !inEval(b.id));
  const evalUsers = built.filter((b) => inEval(b.id));
  const base = (b: (typeof built)[number], instruction: string | null, answer: string): UserQARecord => {
    const r: UserQARecord = { user_id: b.id, sources: b.sources, tabular: b.tabular, instruction, answer };
    if (Object.keys(b.labels).length > 0) r.labels = b.labels;
    return validateRecord(r, `(import of user ${b.id})`, 0);
  };

  let train: BuiltImport['train'] = null;
  if (evalShare < 1) {
    let generalSkipped = 0;
    const pairsSkipped = rules.pairs.map(() => 0);
    const out = trainUsers.map((b): UserRecords => {
      const scope = userScope(b.view);
      const records: UserQARecord[] = [];
      if (rules.general !== null) {
        const answer = renderTemplate(rules.general, scope);
        if (answer === undefined) generalSkipped++;
        else records.push(base(b, null, answer));
      }
      rules.pairs.forEach((pair, p) => {
        const answer = renderTemplate(pair.answer, scope);
        if (answer === undefined) pairsSkipped[p]!++;
        else records.push(base(b, pair.instruction, answer));
      });
      return { user: b.id, tabular: b.tabular, records };
    });
    train = { users: out, generalSkipped, pairsSkipped };
  }
  let evaluation: BuiltImport['eval'] = null;
  if (evalShare > 0) {
    const labels: Record<string, { labelled: number; positives: number }> = {};
    for (const l of rules.labels) labels[l.name] = { labelled: 0, positives: 0 };
    const out = evalUsers.map((b): UserRecords => {
      for (const [name, v] of Object.entries(b.labels)) {
        labels[name]!.labelled++;
        labels[name]!.positives += v;
      }
      // Evaluation records are general mode with an empty answer, as `synth` writes them.
      return { user: b.id, tabular: b.tabular, records: [base(b, null, '')] };
    });
    evaluation = { users: out, labels };
  }
  return { users: built.length, usersWithoutCut, events: counts, train, eval: evaluation };
}

async function readEvents(file: string, rules: ImportRules, user: (id: Cell | undefined, file: string, line: number) => RawUser, fixedSource: string | null): Promise<void> {
  const { columns } = rules;
  for await (const { line, row } of readTable(file)) {
    const { [columns.user_id]: id, [columns.timestamp]: rawTs, ...rest } = row;
    const { [columns.source]: rawSource, ...fields } = fixedSource === null ? rest : { ...rest, [columns.source]: fixedSource };
    const u = user(id, file, line);
    const spec = rules.sources.get(String(rawSource));
    if (!spec) {
      if (rawSource === undefined) throw new DataError(file, line, columns.source, `missing source; give the column "${columns.source}" (rules: columns.source), or read the whole table as one source with --events SOURCE=${file}`);
      throw new DataError(file, line, columns.source, `unknown source ${JSON.stringify(rawSource)}; map it to one of ${SOURCE_NAMES.join(', ')} under "sources" in the rules (${rules.file})`);
    }
    const ts = normaliseTimestamp(rawTs);
    if (ts === null) throw new DataError(file, line, columns.timestamp, `must be an ISO-8601 date/date-time or Unix seconds/milliseconds; got ${JSON.stringify(rawTs)}`);
    checkFieldNames(fields, file, line);
    u.events.push({ spec, ts, ms: isoToMs(ts)!, fields });
  }
}

async function readWide(file: string, rules: ImportRules, user: (id: Cell | undefined, file: string, line: number) => RawUser): Promise<void> {
  const patternColumns = new Set(rules.wide.flatMap((w) => [...wideColumns(w)]));
  const seen = new Set<string>();
  let first = true;
  for await (const { line, row, header } of readTable(file)) {
    if (first) for (const w of rules.wide) checkWideHeader(w, header, file, line);
    first = false;
    const { [rules.columns.user_id]: id, ...rest } = row;
    const u = user(id, file, line);
    if (seen.has(String(id))) throw new DataError(file, line, rules.columns.user_id, `user ${JSON.stringify(id)} appears twice in the wide table; it must have one row per user`);
    seen.add(String(id));
    for (const w of rules.wide) {
      const spec = rules.sources.get(w.source)!;
      for (const e of wideEvents(w, row)) {
        checkFieldNames(e.fields, file, line);
        u.events.push({ spec, ts: e.ts, ms: isoToMs(e.ts)!, fields: e.fields });
      }
    }
    const attrs = Object.fromEntries(Object.entries(rest).filter(([k]) => !patternColumns.has(k)));
    mergeAttributes(u, attrs, rules, file, line);
  }
}

async function readAttributes(file: string, rules: ImportRules, user: (id: Cell | undefined, file: string, line: number) => RawUser, seen: Set<string>): Promise<void> {
  for await (const { line, row } of readTable(file)) {
    const { [rules.columns.user_id]: id, ...attrs } = row;
    const u = user(id, file, line);
    if (seen.has(String(id))) throw new DataError(file, line, rules.columns.user_id, `user ${JSON.stringify(id)} appears twice in the user table`);
    seen.add(String(id));
    u.where = { file, line };
    mergeAttributes(u, attrs, rules, file, line);
  }
}

function mergeAttributes(u: RawUser, attrs: Record<string, Cell>, rules: ImportRules, file: string, line: number): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (name in u.attrs && u.attrs[name] !== value) {
      throw new DataError(file, line, name, `this user already has ${name} = ${JSON.stringify(u.attrs[name])} from another table; give each attribute in one table`);
    }
    const label = rules.labels.find((l) => l.column === name);
    if (label && value !== 0 && value !== 1) throw new DataError(file, line, name, `label columns must hold 0 or 1; got ${JSON.stringify(value)}`);
    u.attrs[name] = value;
  }
}

function checkFieldNames(fields: Record<string, Cell>, file: string, line: number): void {
  for (const reserved of ['ts', 'line']) {
    if (reserved in fields) {
      throw new DataError(file, line, reserved, `the field name "${reserved}" is reserved (${reserved === 'ts' ? 'the time stamp' : 'the rendered line'}); rename the column${reserved === 'ts' ? ', or set columns.timestamp to "ts"' : ''}`);
    }
  }
}

function evaluateLabels(rules: ImportRules, view: UserView, id: string, u: RawUser): Record<string, 0 | 1> {
  const out: Record<string, 0 | 1> = {};
  const scope = userScope(view);
  for (const l of rules.labels) {
    const v = l.column !== null ? u.attrs[l.column] : templateValue(l.template!, scope);
    if (v === undefined || v === '') continue;
    if (v === 0 || v === 1 || v === true || v === false) out[l.name] = v === 1 || v === true ? 1 : 0;
    else throw new DataError(u.where.file, u.where.line, `labels.${l.name}`, `user ${JSON.stringify(id)}: the label template gives ${JSON.stringify(v)}; a label must be 0 or 1 (e.g. {if(…, 1, 0)} or a comparison)`);
  }
  return out;
}

/** sha256(seed, id) as a number in [0, 1). */
function hashShare(seed: string, id: string): number {
  return createHash('sha256').update(seed).update('\u0000').update(id).digest().readUInt32BE(0) / 2 ** 32;
}
