/**
 * @module data/import/template
 * Answer templates of import rules: text with `{expression}` slots, each an aggregate over a
 * user's events or attributes, optionally rounded:
 *
 *   {count(bill)}  {count(bill.category=fast food)}  {sum(bill.amount)}  {mean(bill.amount)}
 *   {min(bill.amount)}  {max(bill.amount)}  {top(bill.category)}  {attr(city)}
 *   {sum(future:bill.amount)|round(10)}
 *
 * `future:` reads the events on or after the rules' cutoff date (the forward-looking window);
 * without it, the history. An aggregate with no value (the mean of no events, the top of an
 * empty source, a missing attribute) makes the whole template undefined, so the pair is left
 * out for that user.
 */
import { SOURCE_NAMES, type SourceEvent, type SourceName } from '../types.js';

type Fn = 'count' | 'sum' | 'mean' | 'min' | 'max' | 'top' | 'attr';
const FNS: readonly Fn[] = ['count', 'sum', 'mean', 'min', 'max', 'top', 'attr'];

interface Expr {
  fn: Fn;
  future: boolean;
  source: SourceName | null;
  field: string | null;
  /** count(source.field=value): only events whose field equals this text. */
  equals: string | null;
  /** attr(name): the attribute's name. */
  attr: string | null;
  round: number | null;
}

/** A parsed template: literal text and expressions, in order. */
export type Template = Array<string | Expr>;

/** What a template is evaluated on: one user's events and attributes. */
export interface UserView {
  history: Record<SourceName, SourceEvent[]>;
  future: Record<SourceName, SourceEvent[]>;
  attrs: Record<string, string | number>;
}

const SLOT = /\{([^{}]*)\}/g;
const EXPR = /^(\w+)\(([^()]*)\)(?:\|round\(([^()]+)\))?$/;

/** Parses a template. @throws Error whose message says what is wrong with which slot. */
export function parseTemplate(text: string, hasFuture: boolean): Template {
  const parts: Template = [];
  let last = 0;
  for (const m of text.matchAll(SLOT)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(parseExpr(m[1].trim(), hasFuture));
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

function parseExpr(slot: string, hasFuture: boolean): Expr {
  const m = EXPR.exec(slot);
  if (!m) throw new Error(`{${slot}} is not fn(argument) or fn(argument)|round(step)`);
  const fn = m[1] as Fn;
  if (!FNS.includes(fn)) throw new Error(`{${slot}}: unknown function "${m[1]}"; use one of ${FNS.join(', ')}`);
  const round = m[3] === undefined ? null : Number(m[3]);
  if (round !== null && !(round > 0)) throw new Error(`{${slot}}: round(step) needs a positive number`);
  const arg = m[2].trim();
  if (fn === 'attr') return { fn, future: false, source: null, field: null, equals: null, attr: arg, round };
  const future = arg.startsWith('future:');
  if (future && !hasFuture) throw new Error(`{${slot}}: "future:" needs a "cutoff" date in the rules`);
  const body = future ? arg.slice('future:'.length) : arg;
  const eq = body.indexOf('=');
  const path = eq >= 0 ? body.slice(0, eq) : body;
  const dot = path.indexOf('.');
  const source = (dot >= 0 ? path.slice(0, dot) : path) as SourceName;
  const field = dot >= 0 ? path.slice(dot + 1) : null;
  if (!SOURCE_NAMES.includes(source)) throw new Error(`{${slot}}: "${source}" is not a source; use ${SOURCE_NAMES.join(', ')}`);
  if (fn !== 'count' && field === null) throw new Error(`{${slot}}: ${fn} needs source.field`);
  if (eq >= 0 && (fn !== 'count' || field === null)) throw new Error(`{${slot}}: "=value" only works as count(source.field=value)`);
  return { fn, future, source, field, equals: eq >= 0 ? body.slice(eq + 1) : null, attr: null, round };
}

/** Fills a template for one user, or undefined when an aggregate has no value. */
export function renderTemplate(template: Template, user: UserView): string | undefined {
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const value = evaluate(part, user);
    if (value === undefined) return undefined;
    out += typeof value === 'number' ? formatNumber(part.round === null ? value : Math.round(value / part.round) * part.round) : value;
  }
  return out;
}

function evaluate(e: Expr, user: UserView): string | number | undefined {
  if (e.fn === 'attr') return user.attrs[e.attr!];
  const events = (e.future ? user.future : user.history)[e.source!];
  if (e.fn === 'count') return e.field === null ? events.length : events.filter((ev) => e.equals === null ? ev[e.field!] !== undefined : String(ev[e.field!]) === e.equals).length;
  if (e.fn === 'top') return topValue(events.map((ev) => ev[e.field!]).filter((v) => v !== undefined).map(String));
  const nums = events.map((ev) => ev[e.field!]).filter((v): v is number => typeof v === 'number');
  if (e.fn === 'sum') return nums.reduce((a, b) => a + b, 0);
  if (nums.length === 0) return undefined;
  if (e.fn === 'mean') return nums.reduce((a, b) => a + b, 0) / nums.length;
  return e.fn === 'min' ? Math.min(...nums) : Math.max(...nums);
}

/** Most frequent value; ties go to the value that sorts first, so the result is deterministic. */
function topValue(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  for (const [v, n] of counts) if (best === undefined || n > counts.get(best)! || (n === counts.get(best)! && v < best)) best = v;
  return best;
}

/** Integers as is; other numbers with at most two decimals (38.5, 3.33). */
function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Math.round(x * 100) / 100);
}
