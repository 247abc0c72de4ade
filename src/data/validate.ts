/**
 * @module data/validate
 * Checks one UserQA line against the record format (docs/data-format.md) and names the first
 * problem as `file:line field: reason` (a `DataError`). The checks are what the rest of the
 * pipeline relies on: four known sources of time-stamped events with flat scalar fields, flat
 * tabular values, a string-or-null instruction, a string answer and 0/1 labels.
 */
import { DataError } from '../errors.js';
import { SOURCE_NAMES, type SourceEvent, type SourceName, type UserQARecord } from './types.js';

/** ISO-8601 date or date-time (`2024-03-02`, `2024-03-02T10:15`, `…:30Z`, `…+08:00`). */
const ISO_TS = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
/** True for the time stamps the record format accepts. */
export function isIsoTimestamp(ts: string): boolean {
  return ISO_TS.test(ts);
}

const TOP_LEVEL = new Set(['user_id', 'sources', 'tabular', 'instruction', 'answer', 'labels']);

/**
 * Validates a parsed JSON value as a UserQA record. A source missing from `sources` counts as
 * an empty list (the record returned always has all four); unknown keys are errors, so a typo
 * like `bills` is caught instead of silently dropping data.
 * @throws DataError naming file, line and the offending field.
 */
export function validateRecord(value: unknown, file: string, line: number): UserQARecord {
  const fail = (field: string, reason: string): never => {
    throw new DataError(file, line, field, reason);
  };
  if (!isPlainObject(value)) return fail('(record)', `must be a JSON object; got ${kindOf(value)}`);
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL.has(key)) fail(key, `unknown field; allowed: ${[...TOP_LEVEL].join(', ')}`);
  }
  const { user_id, sources, tabular, instruction, answer, labels } = value;
  if (typeof user_id !== 'string' || user_id === '') fail('user_id', `must be a non-empty string; got ${kindOf(user_id)}`);
  if (!isPlainObject(sources)) return fail('sources', `must be an object with lists under ${SOURCE_NAMES.join(', ')}; got ${kindOf(sources)}`);
  for (const key of Object.keys(sources)) {
    if (!(SOURCE_NAMES as readonly string[]).includes(key)) fail(`sources.${key}`, `unknown source; allowed: ${SOURCE_NAMES.join(', ')}`);
  }
  const checkedSources = {} as Record<SourceName, SourceEvent[]>;
  for (const source of SOURCE_NAMES) {
    const events = sources[source] ?? [];
    if (!Array.isArray(events)) fail(`sources.${source}`, `must be a list of events; got ${kindOf(events)}`);
    (events as unknown[]).forEach((event, i) => checkEvent(event, `sources.${source}[${i}]`, fail));
    checkedSources[source] = events as SourceEvent[];
  }
  if (!isPlainObject(tabular)) return fail('tabular', `must be an object of name → number or string; got ${kindOf(tabular)}`);
  for (const [name, v] of Object.entries(tabular)) {
    if (!(typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))) {
      fail(`tabular.${name}`, `must be a finite number or a string; got ${kindOf(v)}`);
    }
  }
  if (!('instruction' in value)) fail('instruction', 'missing; use null for general mode');
  if (instruction !== null && typeof instruction !== 'string') fail('instruction', `must be a string or null; got ${kindOf(instruction)}`);
  if (typeof answer !== 'string') fail('answer', `must be a string (may be empty); got ${kindOf(answer)}`);
  if (labels !== undefined) {
    if (!isPlainObject(labels)) return fail('labels', `must be an object of scenario → 0 or 1; got ${kindOf(labels)}`);
    for (const [name, v] of Object.entries(labels)) {
      if (v !== 0 && v !== 1) fail(`labels.${name}`, `must be 0 or 1; got ${JSON.stringify(v)}`);
    }
  }
  const record: UserQARecord = {
    user_id: user_id as string,
    sources: checkedSources,
    tabular: tabular as Record<string, number | string>,
    instruction: instruction as string | null,
    answer: answer as string,
  };
  if (labels !== undefined) record.labels = labels as Record<string, 0 | 1>;
  return record;
}

/** Parses and validates one JSONL line; a JSON syntax error is reported as field `(line)`. */
export function parseRecordLine(text: string, file: string, line: number): UserQARecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DataError(file, line, '(line)', `not valid JSON (${(err as Error).message}); each line must be one JSON object`);
  }
  return validateRecord(value, file, line);
}

function checkEvent(event: unknown, field: string, fail: (field: string, reason: string) => never): void {
  if (!isPlainObject(event)) fail(field, `must be an object with a "ts" field; got ${kindOf(event)}`);
  const e = event as Record<string, unknown>;
  if (typeof e.ts !== 'string' || !ISO_TS.test(e.ts)) {
    fail(`${field}.ts`, `must be an ISO-8601 date or date-time like "2024-03-02"; got ${JSON.stringify(e.ts)}`);
  }
  if (e.text !== undefined && typeof e.text !== 'string') fail(`${field}.text`, `must be a string; got ${kindOf(e.text)}`);
  if (e.line !== undefined && typeof e.line !== 'string') fail(`${field}.line`, `must be a string (the rendered line); got ${kindOf(e.line)}`);
  for (const [key, v] of Object.entries(e)) {
    const ok = typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!ok) fail(`${field}.${key}`, `must be a string, finite number or boolean; got ${kindOf(v)}`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${String(v)}`;
}
