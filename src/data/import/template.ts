/**
 * @module data/import/template
 * Templates of import rules: text with `{expression|filter…}` slots (expressions:
 * src/data/import/expr.ts). Two kinds share the syntax:
 * - **render templates** (a source's `render`) see one event: names are its fields; a missing
 *   value leaves its slot empty;
 * - **user templates** (answers, general, labels) see one user: aggregates over the history (or,
 *   with `future:`, the window after the user's cut time) and attributes; a missing value makes
 *   the whole template missing, so that pair (or label) is left out for that user.
 *
 * Filters: `round(step)` (to a multiple of step), `fixed(n)` (n decimals), `pct` (×100, rounded,
 * with "%"). Numbers otherwise print as integers or with at most two decimals, booleans as yes/no.
 *
 *   {count(bill)}  {mean(bill.amount)|round(1)}  {ratio(count(rating.genres~horror), count(rating))|pct}
 *   {if(sum(future:statement.paid) > 0, 'will pay', 'will not pay')}  {band(attr(age), 30, 'young', 'older')}
 */
import type { SourceEvent } from '../types.js';
import { parseExpr, type AggregateFn, type Expr, type ExprContext, type Reads, type Value } from './expr.js';
import { evaluate, formatValue, type Scope } from './expr-eval.js';
import { selectEvents, type Selector } from './selector.js';

type Filter = { kind: 'round'; step: number } | { kind: 'fixed'; digits: number } | { kind: 'pct' };

interface Slot {
  source: string;
  expr: Expr;
  filters: Filter[];
}

/** A parsed template: literal text and slots in order, and what it reads. */
export interface Template {
  text: string;
  parts: Array<string | Slot>;
  reads: Reads;
}

/** Parses a template. @throws Error whose message names the slot and the problem. */
export function parseTemplate(text: string, ctx: ExprContext): Template {
  const reads: Reads = { names: new Set(), aggregates: [] };
  const parts: Template['parts'] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '}') throw new Error(`a "}" without its "{" at character ${i + 1}; write slots as {expression}`);
    if (c !== '{') {
      literal += c;
      continue;
    }
    const end = closingBrace(text, i);
    if (end < 0) throw new Error(`the slot starting at character ${i + 1} is not closed with "}"`);
    if (literal) parts.push(literal);
    literal = '';
    const source = text.slice(i + 1, end).trim();
    try {
      parts.push(parseSlot(source, ctx, reads));
    } catch (err) {
      throw new Error(`{${source}}: ${(err as Error).message}`);
    }
    i = end;
  }
  if (literal) parts.push(literal);
  return { text, parts, reads };
}

/** Index of the "}" closing the slot at `open`, skipping quoted text; -1 when none. */
function closingBrace(text: string, open: number): number {
  let quote = '';
  for (let k = open + 1; k < text.length; k++) {
    const c = text[k]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '{') return -1;
    else if (c === '}') return k;
  }
  return -1;
}

function parseSlot(source: string, ctx: ExprContext, reads: Reads): Slot {
  if (source === '') throw new Error('empty slot');
  const pieces = splitTopLevel(source, '|');
  const expr = parseExpr(pieces[0]!, ctx, reads);
  const filters = pieces.slice(1).map((f): Filter => {
    const m = /^(round|fixed)\(\s*([^()]+?)\s*\)$|^(pct)$/.exec(f.trim());
    if (!m) throw new Error(`unknown filter "|${f.trim()}"; use |round(step), |fixed(n) or |pct`);
    if (m[3]) return { kind: 'pct' };
    const n = Number(m[2]);
    if (m[1] === 'round') {
      if (!(n > 0)) throw new Error('round(step) needs a positive number');
      return { kind: 'round', step: n };
    }
    if (!Number.isInteger(n) || n < 0 || n > 10) throw new Error('fixed(n) needs n decimals, 0–10');
    return { kind: 'fixed', digits: n };
  });
  return { source, expr, filters };
}

/** Splits on `sep` outside quotes, parentheses and brackets. */
function splitTopLevel(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text[k]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === sep && depth === 0) {
      out.push(text.slice(start, k));
      start = k + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/** A slot's value after its filters (filters turn it into text). */
function slotValue(slot: Slot, scope: Scope): Value | undefined {
  let v = evaluate(slot.expr, scope);
  for (const f of slot.filters) {
    if (v === undefined) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : Number(v);
    if (!Number.isFinite(n)) return undefined;
    if (f.kind === 'round') v = Math.round(n / f.step) * f.step;
    else if (f.kind === 'fixed') v = n.toFixed(f.digits);
    else v = `${Math.round(n * 100)}%`;
  }
  // round(0.1) leaves float noise (0.30000000000000004); printing rounds it to 2 decimals anyway.
  return v;
}

/**
 * Fills a template. `missing: 'skip'` (user templates) returns undefined when a slot has no
 * value; `'empty'` (render templates) leaves that slot empty and tidies the spaces around it.
 */
export function renderTemplate(t: Template, scope: Scope, missing: 'skip' | 'empty' = 'skip'): string | undefined {
  let out = '';
  for (const part of t.parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const v = slotValue(part, scope);
    if (v === undefined) {
      if (missing === 'skip') return undefined;
      continue;
    }
    out += formatValue(v);
  }
  return missing === 'empty' ? out.replace(/\s+/g, ' ').replace(/\s+([,;.)])/g, '$1').replace(/\(\s*\)/g, '').trim() : out;
}

/** The value of a template that is one slot and nothing else (labels), else its text. */
export function templateValue(t: Template, scope: Scope): Value | undefined {
  if (t.parts.length === 1 && typeof t.parts[0] !== 'string') return slotValue(t.parts[0]!, scope);
  return renderTemplate(t, scope, 'skip');
}

/** One user's events as user templates read them: per source name (and per slot), in time order. */
export interface UserView {
  history: ReadonlyMap<string, SourceEvent[]>;
  future: ReadonlyMap<string, SourceEvent[]>;
  attrs: Record<string, string | number>;
}

/** The scope of a user template. */
export function userScope(u: UserView): Scope {
  return {
    name: (name) => u.attrs[name],
    aggregate: (fn, s) => aggregate(fn, s, (s.future ? u.future : u.history).get(s.source) ?? []),
  };
}

/** The scope of a render template: one event's fields. */
export function eventScope(event: Record<string, string | number | boolean | undefined>): Scope {
  return {
    name: (name) => event[name],
    aggregate: () => undefined,
  };
}

function aggregate(fn: AggregateFn, s: Selector, events: readonly SourceEvent[]): Value | undefined {
  const chosen = selectEvents(events, s);
  if (fn === 'count') return chosen.length;
  const values = chosen.map((e) => e[s.field!]!);
  if (fn === 'first' || fn === 'last') return values.length === 0 ? undefined : fn === 'first' ? values[0] : values[values.length - 1];
  if (fn === 'distinct') return new Set(values.map(String)).size;
  if (fn === 'top') return topValue(values.map(String));
  const nums = values.filter((v): v is number => typeof v === 'number');
  if (fn === 'sum') return nums.reduce((a, b) => a + b, 0);
  if (nums.length === 0) return undefined;
  if (fn === 'mean') return nums.reduce((a, b) => a + b, 0) / nums.length;
  return fn === 'min' ? Math.min(...nums) : Math.max(...nums);
}

/** Most frequent value; ties go to the value that sorts first, so the result is deterministic. */
function topValue(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  for (const [v, n] of counts) if (best === undefined || n > counts.get(best)! || (n === counts.get(best)! && v < best)) best = v;
  return best;
}
