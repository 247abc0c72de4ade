/**
 * @module data/render
 * Records as natural language: one line per behaviour event (by the clause templates in
 * render-templates.ts), one line for the tabular profile, and the full Fig. 3 text form of a
 * user (preamble, `<bill> … </bill>` … `<tabular> … </tabular>`, `Instruction: …`, `<USER>`)
 * used by the text-only ablation and the docs.
 */
import {
  BOOLEAN_WORDS,
  DATE_TEMPLATE,
  DATE_TIME_TEMPLATE,
  EXTRA_FIELD_TEMPLATE,
  INSTRUCTION_PREFIX,
  LINE_SEPARATOR,
  PREAMBLE,
  SOURCE_CLAUSES,
  TABULAR_SEPARATOR,
  TEXT_TEMPLATE,
  USER_TOKEN,
  fill,
} from './render-templates.js';
import { SOURCE_NAMES, type SourceEvent, type SourceName, type UserQARecord } from './types.js';

/**
 * One natural-language line for one event, e.g. a bill
 * `{ts:'2024-03-02', amount:38.5, item:'a burger meal', category:'fast food', channel:'mobile wallet'}`
 * → "On 2024-03-02 paid 38.50 yuan for a burger meal (fast food) via mobile wallet".
 * Clauses whose fields are missing are left out; fields the source's template does not know
 * are appended as `name value` in key order, so imported data is never dropped. An event with a
 * `line` (rendered by `instructue import` from the rules' template) reads `On <date> <line>`.
 */
export function renderEvent(source: SourceName, event: SourceEvent): string {
  // A line rendered at import (by the rules' template of its source) is shown as is; the
  // event's other fields are there for baselines and audits, not rendered again.
  if (typeof event.line === 'string') return event.line === '' ? renderDate(event.ts) : `${renderDate(event.ts)} ${event.line}`;
  const used = new Set(['ts']);
  const parts = [renderDate(event.ts)];
  for (const clause of SOURCE_CLAUSES[source]) {
    if (!clause.fields.every((f) => event[f] !== undefined && event[f] !== '')) continue;
    const slots: Record<string, string> = {};
    for (const f of clause.fields) {
      slots[f] = formatValue(f, event[f]);
      used.add(f);
    }
    parts.push(fill(clause.template, slots));
  }
  if (!used.has('text') && event.text !== undefined && event.text !== '') {
    parts.push(fill(TEXT_TEMPLATE, { text: event.text }));
    used.add('text');
  }
  for (const key of Object.keys(event)) {
    const value = event[key];
    if (used.has(key) || value === undefined || value === '') continue;
    parts.push(fill(EXTRA_FIELD_TEMPLATE, { name: spaced(key), value: formatValue(key, value) }));
  }
  return parts.join(' ');
}

/** The tabular profile as one line, `age band 25-34, monthly income 8200, …`, in the record's key order. */
export function renderTabular(tabular: Record<string, number | string>): string {
  return Object.entries(tabular)
    .map(([name, value]) => fill(EXTRA_FIELD_TEMPLATE, { name: spaced(name), value: formatValue(name, value) }))
    .join(TABULAR_SEPARATOR);
}

/**
 * The most recent `max` events of a source, oldest first. Events are ordered by their `ts`
 * text (ISO-8601 in one form sorts chronologically); the sort is stable, so events with equal
 * time stamps keep their file order.
 */
export function recentEvents(events: readonly SourceEvent[], max: number): SourceEvent[] {
  let sorted = true;
  for (let i = 1; i < events.length && sorted; i++) sorted = events[i - 1].ts <= events[i].ts;
  const ordered = sorted ? events.slice() : events.slice().sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  return max >= ordered.length ? ordered : ordered.slice(ordered.length - max);
}

/** The rendered lines of a source's most recent `max` events, oldest first. */
export function renderSourceLines(source: SourceName, events: readonly SourceEvent[], max: number): string[] {
  return recentEvents(events, max).map((e) => renderEvent(source, e));
}

export interface UserTextOptions {
  /** full = the Fig. 3 sentence first (default); none = start at `<bill>`. */
  preamble?: 'full' | 'none';
  /** Most recent events kept per source (default: all). */
  maxRecordsPerSource?: number;
  /** Include the four sequential sources (default true). */
  useSequences?: boolean;
  /** Include the `<tabular>` block (default true). */
  useTabular?: boolean;
}

/**
 * The Fig. 3 text form of a record: `[preamble] <bill> l1; l2 </bill> <minipro> … </minipro>
 * <spm> … </spm> <search> … </search> <tabular> … </tabular> [Instruction: …] <USER>`.
 * General-mode records (instruction null) have no `Instruction:` part. The answer is not part
 * of the input form.
 */
export function renderUserText(record: UserQARecord, opts: UserTextOptions = {}): string {
  const max = opts.maxRecordsPerSource ?? Number.MAX_SAFE_INTEGER;
  const parts: string[] = [];
  if ((opts.preamble ?? 'full') === 'full') parts.push(PREAMBLE);
  if (opts.useSequences ?? true) {
    for (const source of SOURCE_NAMES) {
      parts.push(block(source, renderSourceLines(source, record.sources[source], max).join(LINE_SEPARATOR)));
    }
  }
  if (opts.useTabular ?? true) parts.push(block('tabular', renderTabular(record.tabular)));
  if (record.instruction !== null) parts.push(`${INSTRUCTION_PREFIX} ${record.instruction}`);
  parts.push(USER_TOKEN);
  return parts.join(' ');
}

function block(name: string, body: string): string {
  return body === '' ? `<${name}> </${name}>` : `<${name}> ${body} </${name}>`;
}

function renderDate(ts: string): string {
  const date = ts.slice(0, 10);
  const time = ts.slice(11, 16);
  return time === '' ? fill(DATE_TEMPLATE, { date }) : fill(DATE_TIME_TEMPLATE, { date, time });
}

/** Amounts keep two decimals when fractional (38.5 → "38.50"); other values print as-is. */
function formatValue(field: string, value: string | number | boolean | undefined): string {
  if (typeof value === 'boolean') return BOOLEAN_WORDS[value ? 'true' : 'false'];
  if (typeof value === 'number' && field === 'amount' && !Number.isInteger(value)) return value.toFixed(2);
  return String(value);
}

/** Field names read as words: `monthly_income` → "monthly income". */
function spaced(name: string): string {
  return name.replace(/_/g, ' ');
}
