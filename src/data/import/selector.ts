/**
 * @module data/import/selector
 * What an aggregate of an import template reads (docs/import.md § Templates):
 *
 *   [future:]SOURCE[.FIELD][ CONDITION][ where FIELD CONDITION]
 *
 * SOURCE is a source name of the rules (or one of the four slots, meaning every source mapped to
 * it). A condition right after FIELD tests that field; `where` tests another one. Conditions:
 * `=text` `!=text` `in [a, b]` (any of the values) `~word` / `~[a, b]` (contains any of the
 * words, case-insensitive) `>n` `>=n` `<n` `<=n`. Examples: `count(bill.category=food delivery)`,
 * `mean(rating.stars where genres~[horror, thriller])`, `count(future:statement.paid>0)`.
 */
import type { SourceEvent } from '../types.js';
import type { AggregateFn, ExprContext } from './expr.js';

export type Condition =
  | { op: '=' | '!='; text: string }
  | { op: 'in'; values: string[] }
  | { op: '~'; words: string[] }
  | { op: '<' | '<=' | '>' | '>='; number: number };

export interface Selector {
  /** The selector as written (for messages). */
  text: string;
  future: boolean;
  source: string;
  field: string | null;
  /** Condition on `field` (written right after it). */
  condition: Condition | null;
  /** `where FIELD CONDITION`. */
  where: { field: string; condition: Condition } | null;
}

const PATH = /^([^.\s=!~<>[\]]+)(?:\.([^\s=!~<>[\]]+))?\s*(.*)$/s;
const CONDITION = /^(!=|>=|<=|=|~|<|>|in\b)\s*(.*)$/s;

/** Parses a selector. @throws Error saying what is wrong. */
export function parseSelector(raw: string, fn: AggregateFn, ctx: ExprContext): Selector {
  const text = raw.trim();
  const future = text.startsWith('future:');
  if (future && !ctx.hasFuture) throw new Error(`${fn}(${text}): "future:" needs a cut rule ("cutoff") in the rules`);
  const body = future ? text.slice('future:'.length).trim() : text;
  const whereAt = body.search(/\swhere\s/);
  const head = whereAt >= 0 ? body.slice(0, whereAt) : body;
  const m = PATH.exec(head.trim());
  if (!m) throw new Error(`${fn}(${text}): expected source[.field][condition]`);
  const [, source, field = null, rest] = m as unknown as [string, string, string | undefined, string];
  if (!ctx.sources.has(source)) throw new Error(`${fn}(${text}): "${source}" is not a source; use one of ${[...ctx.sources].join(', ')}`);
  const condition = rest.trim() === '' ? null : parseCondition(rest.trim(), `${fn}(${text})`);
  if (condition && field === null) throw new Error(`${fn}(${text}): a condition needs source.field (or "where field …")`);
  let where: Selector['where'] = null;
  if (whereAt >= 0) {
    const w = /^([^\s=!~<>[\]]+)\s*(.+)$/s.exec(body.slice(whereAt).trim().slice('where'.length).trim());
    if (!w) throw new Error(`${fn}(${text}): "where" needs a field and a condition, e.g. "where genres~horror"`);
    where = { field: w[1]!, condition: parseCondition(w[2]!.trim(), `${fn}(${text})`) };
  }
  if (fn !== 'count' && field === null) throw new Error(`${fn}(${text}): ${fn} needs source.field`);
  return { text, future, source, field, condition, where };
}

function parseCondition(text: string, where: string): Condition {
  const m = CONDITION.exec(text);
  if (!m) throw new Error(`${where}: "${text}" is not a condition; use =text, !=text, in [a, b], ~word, ~[a, b], >n, >=n, <n or <=n`);
  const op = m[1]!;
  const arg = m[2]!.trim();
  if (op === '=' || op === '!=') return { op, text: unquote(arg) };
  if (op === 'in') return { op, values: list(arg, where) };
  if (op === '~') {
    if (arg === '') throw new Error(`${where}: ~ needs a word or a list [a, b]`);
    return { op, words: (arg.startsWith('[') ? list(arg, where) : [unquote(arg)]).map((w) => w.toLowerCase()) };
  }
  const number = Number(arg);
  if (arg === '' || !Number.isFinite(number)) throw new Error(`${where}: ${op} needs a number; got "${arg}"`);
  return { op: op as '<' | '<=' | '>' | '>=', number };
}

function list(arg: string, where: string): string[] {
  if (!arg.startsWith('[') || !arg.endsWith(']')) throw new Error(`${where}: a value list is written [a, b, c]; got "${arg}"`);
  const items = arg.slice(1, -1).split(',').map((v) => unquote(v.trim())).filter((v) => v !== '');
  if (items.length === 0) throw new Error(`${where}: the list [${arg}] is empty`);
  return items;
}

function unquote(v: string): string {
  return v.replace(/^(['"])(.*)\1$/s, '$2');
}

/** Lowercase letter/digit words of a value (for `~`). */
function words(value: string | number | boolean): Set<string> {
  return new Set(String(value).toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

/** Whether a field value passes a condition (a missing value never does). */
export function passes(value: string | number | boolean | undefined, c: Condition): boolean {
  if (value === undefined) return false;
  switch (c.op) {
    case '=': return String(value) === c.text;
    case '!=': return String(value) !== c.text;
    case 'in': return c.values.includes(String(value));
    case '~': {
      const have = words(value);
      return c.words.some((w) => have.has(w));
    }
    default: {
      const x = typeof value === 'number' ? value : Number(value);
      if (typeof value === 'boolean' || !Number.isFinite(x) || (typeof value === 'string' && value.trim() === '')) return false;
      return c.op === '<' ? x < c.number : c.op === '<=' ? x <= c.number : c.op === '>' ? x > c.number : x >= c.number;
    }
  }
}

/** The events a selector keeps: those with the field (when named) that pass both conditions. */
export function selectEvents(events: readonly SourceEvent[], s: Selector): SourceEvent[] {
  return events.filter((e) =>
    (s.field === null || (e[s.field] !== undefined && e[s.field] !== '')) &&
    (s.condition === null || passes(e[s.field!], s.condition)) &&
    (s.where === null || passes(e[s.where.field], s.where.condition)));
}
