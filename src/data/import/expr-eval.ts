/**
 * @module data/import/expr-eval
 * Evaluates parsed template expressions (src/data/import/expr.ts) on a scope: one event's fields
 * or one user's aggregates and attributes. A value can be missing (undefined) — a missing field,
 * the mean of no events, x / 0 — and propagates through arithmetic, comparisons and `if`;
 * `has`/`default` test for it; `and`/`or` are decided by a known operand when they can be.
 */
import type { AggregateFn, Expr, Value } from './expr.js';
import type { Selector } from './selector.js';

/** What an expression is evaluated on. */
export interface Scope {
  /** A name: an event's field (render templates) or a user attribute (answers, labels). */
  name(name: string): Value | undefined;
  aggregate(fn: AggregateFn, selector: Selector): Value | undefined;
}

/** True for values that count as "yes" in if/and/or/not. */
export function truthy(v: Value): boolean {
  return typeof v === 'number' ? v !== 0 : typeof v === 'string' ? v !== '' : v;
}

function asNumber(v: Value | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}

function equal(a: Value, b: Value): boolean {
  const x = asNumber(a);
  const y = asNumber(b);
  return x !== undefined && y !== undefined ? x === y : String(a) === String(b);
}

/** Evaluates an expression; undefined = the value is missing. */
export function evaluate(e: Expr, scope: Scope): Value | undefined {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'name':
    case 'lookup':
      return scope.name(e.name);
    case 'aggregate':
      return scope.aggregate(e.fn, e.selector);
    case 'unary': {
      const v = evaluate(e.arg, scope);
      if (v === undefined) return undefined;
      if (e.op === 'not') return !truthy(v);
      const n = asNumber(v);
      return n === undefined ? undefined : -n;
    }
    case 'binary':
      return binary(e.op, e.left, e.right, scope);
    case 'call':
      return call(e.fn, e.args, scope);
  }
}

function binary(op: string, l: Expr, r: Expr, scope: Scope): Value | undefined {
  if (op === 'and' || op === 'or') {
    const a = evaluate(l, scope);
    const b = evaluate(r, scope);
    const decisive = op === 'or';
    if ((a !== undefined && truthy(a) === decisive) || (b !== undefined && truthy(b) === decisive)) return decisive;
    return a === undefined || b === undefined ? undefined : !decisive;
  }
  const a = evaluate(l, scope);
  const b = evaluate(r, scope);
  if (a === undefined || b === undefined) return undefined;
  if (op === '=') return equal(a, b);
  if (op === '!=') return !equal(a, b);
  if (op === '+' && (typeof a === 'string' || typeof b === 'string') && (asNumber(a) === undefined || asNumber(b) === undefined)) {
    return formatValue(a) + formatValue(b);
  }
  const x = asNumber(a);
  const y = asNumber(b);
  if (x === undefined || y === undefined) return undefined;
  switch (op) {
    case '+': return x + y;
    case '-': return x - y;
    case '*': return x * y;
    case '/': return y === 0 ? undefined : x / y;
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    default: return x >= y;
  }
}

function call(fn: string, args: Expr[], scope: Scope): Value | undefined {
  const v = (i: number) => evaluate(args[i]!, scope);
  switch (fn) {
    case 'ratio': {
      const a = asNumber(v(0));
      const b = asNumber(v(1));
      return a === undefined || b === undefined || b === 0 ? undefined : a / b;
    }
    case 'if': {
      const c = v(0);
      if (c === undefined) return undefined;
      return truthy(c) ? v(1) : args.length > 2 ? v(2) : '';
    }
    case 'band': {
      const x = asNumber(v(0));
      if (x === undefined) return undefined;
      for (let i = 1; i + 1 < args.length; i += 2) {
        const t = asNumber(v(i));
        if (t === undefined) return undefined;
        if (x < t) return v(i + 1);
      }
      return v(args.length - 1);
    }
    case 'anyof': {
      const x = v(0);
      if (x === undefined) return undefined;
      return args.slice(1).some((a) => {
        const y = evaluate(a, scope);
        return y !== undefined && equal(x, y);
      });
    }
    case 'has': {
      const x = v(0);
      return x !== undefined && x !== '';
    }
    case 'default': {
      const x = v(0);
      return x === undefined || x === '' ? v(1) : x;
    }
    case 'replace': {
      const [x, from, to] = [v(0), v(1), v(2)];
      return x === undefined || from === undefined || to === undefined ? undefined : formatValue(x).split(formatValue(from)).join(formatValue(to));
    }
    default: {
      const x = asNumber(v(0));
      return x === undefined ? undefined : Math.abs(x);
    }
  }
}

/** Text of a value: integers as is, other numbers with at most two decimals, booleans as yes/no. */
export function formatValue(v: Value): string {
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
  return v;
}
