/**
 * @module data/import/wide
 * Wide tables (`import --wide FILE`): one row per user, one column per period and measure, e.g.
 * a credit-card table with `BILL_AMT1 … BILL_AMT6` and `PAY_AMT1 … PAY_AMT6`. The rules' `wide`
 * section names the source the events belong to, each event field's column pattern and the
 * date of every period:
 *
 *   "wide": { "source": "statement",
 *             "fields": { "billed": "BILL_AMT{1..6}", "paid": "PAY_AMT{1..6}", "delay": "PAY_{0,2..6}" },
 *             "dates": { "first": "2005-09-30", "step": "-1 month" } }
 *
 * A pattern's `{…}` lists the period suffixes in period order (`1..6`, `6..1`, `0,2..6`, `a,b`);
 * every pattern must give the same number of periods. Period k becomes one event dated
 * `dates[k]` holding the row's values of the k-th column of each pattern (empty cells are left
 * out; a period with no value gives no event). The row's other columns are user attributes.
 */
import { DataError } from '../../errors.js';
import { isIsoTimestamp } from '../validate.js';
import { parseCalendarStep, stepDate } from './time.js';
import type { Cell } from './tables.js';

export interface WideSpec {
  source: string;
  /** Event field → its column per period. */
  fields: Record<string, string[]>;
  /** ISO date (or date-time) per period. */
  dates: string[];
}

/** `PAY_AMT{1..6}` → PAY_AMT1 … PAY_AMT6; `PAY_{0,2..4}` → PAY_0, PAY_2, PAY_3, PAY_4. @throws Error. */
export function expandPattern(pattern: string): string[] {
  const m = /^([^{}]*)\{([^{}]+)\}([^{}]*)$/.exec(pattern);
  if (!m) throw new Error(`"${pattern}" must hold one {…} period list, e.g. PAY_AMT{1..6}`);
  const [, before, list, after] = m as unknown as [string, string, string, string];
  const suffixes = list.split(',').flatMap((item) => {
    const range = /^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$/.exec(item);
    if (!range) {
      if (item.trim() === '') throw new Error(`"${pattern}": empty item in {${list}}`);
      return [item.trim()];
    }
    const [a, b] = [Number(range[1]), Number(range[2])];
    const step = a <= b ? 1 : -1;
    return Array.from({ length: Math.abs(b - a) + 1 }, (_, i) => String(a + i * step));
  });
  return suffixes.map((s) => `${before}${s}${after}`);
}

/** Parses one `wide` entry; problems go to `problem(key, why)`. */
export function parseWide(raw: unknown, key: string, sources: ReadonlySet<string>, problem: (key: string, why: string) => void): WideSpec | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problem(key, 'must be {"source", "fields": {field: "COLUMN{1..6}"}, "dates"}');
    return null;
  }
  const w = raw as Record<string, unknown>;
  for (const k of Object.keys(w)) if (!['source', 'fields', 'dates'].includes(k)) problem(`${key}.${k}`, 'unknown key; allowed: source, fields, dates');
  if (typeof w.source !== 'string' || !sources.has(w.source)) problem(`${key}.source`, `must be a source name of "sources" (or a slot); got ${JSON.stringify(w.source)}`);
  const fields: Record<string, string[]> = {};
  if (typeof w.fields !== 'object' || w.fields === null || Array.isArray(w.fields) || Object.keys(w.fields).length === 0) {
    problem(`${key}.fields`, 'must map each event field to a column pattern, e.g. {"paid": "PAY_AMT{1..6}"}');
    return null;
  }
  for (const [field, pattern] of Object.entries(w.fields as Record<string, unknown>)) {
    try {
      if (typeof pattern !== 'string') throw new Error('must be a column pattern string');
      if (field === 'ts' || field === 'line') throw new Error(`"${field}" is reserved for the time stamp / rendered line`);
      fields[field] = expandPattern(pattern);
    } catch (err) {
      problem(`${key}.fields.${field}`, (err as Error).message);
    }
  }
  const counts = [...new Set(Object.values(fields).map((c) => c.length))];
  if (counts.length > 1) problem(`${key}.fields`, `patterns give different numbers of periods (${Object.entries(fields).map(([f, c]) => `${f}: ${c.length}`).join(', ')}); each must list every period`);
  const periods = counts[0] ?? 0;
  let dates: string[] = [];
  if (Array.isArray(w.dates)) {
    dates = w.dates as string[];
    if (dates.some((d) => typeof d !== 'string' || !isIsoTimestamp(d))) problem(`${key}.dates`, 'must be ISO dates like "2005-09-30"');
  } else if (typeof w.dates === 'object' && w.dates !== null) {
    const d = w.dates as Record<string, unknown>;
    const step = parseCalendarStep(d.step);
    if (typeof d.first !== 'string' || !isIsoTimestamp(d.first)) problem(`${key}.dates.first`, `must be the ISO date of the first period; got ${JSON.stringify(d.first)}`);
    else if (!step) problem(`${key}.dates.step`, `must be a calendar step like "-1 month", "1 month", "7 days"; got ${JSON.stringify(d.step)}`);
    else dates = Array.from({ length: periods }, (_, k) => stepDate(d.first as string, step, k));
  } else {
    problem(`${key}.dates`, 'must be a list of period dates, or {"first": "2005-09-30", "step": "-1 month"}');
  }
  if (dates.length > 0 && periods > 0 && dates.length !== periods) problem(`${key}.dates`, `has ${dates.length} dates for ${periods} periods`);
  return { source: String(w.source), fields, dates };
}

/** @throws DataError when a CSV header lacks a column of the patterns (JSONL rows have no header to check). */
export function checkWideHeader(spec: WideSpec, header: readonly string[] | undefined, file: string, line: number): void {
  if (!header) return;
  const missing = [...wideColumns(spec)].filter((c) => !header.includes(c));
  if (missing.length > 0) throw new DataError(file, line, missing[0]!, `column of the rules' "wide" patterns is not in the header (missing: ${missing.join(', ')})`);
}

/** Every column a wide spec reads (so the rest of the row are attributes). */
export function wideColumns(spec: WideSpec): Set<string> {
  return new Set(Object.values(spec.fields).flat());
}

/** The events of one wide-table row: one per period with at least one value, in period order. */
export function wideEvents(spec: WideSpec, row: Record<string, Cell>): Array<{ ts: string; fields: Record<string, Cell> }> {
  return spec.dates.flatMap((ts, k) => {
    const fields: Record<string, Cell> = {};
    for (const [field, columns] of Object.entries(spec.fields)) {
      const v = row[columns[k]!];
      if (v !== undefined && v !== '') fields[field] = v;
    }
    return Object.keys(fields).length > 0 ? [{ ts, fields }] : [];
  });
}
