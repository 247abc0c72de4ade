/**
 * @module data/import/expr
 * The expression language inside `{…}` slots of import templates (docs/import.md § Templates):
 *
 *   numbers 3.5, text 'a' or "a", names (an event's field, or a user attribute in answers),
 *   + − * /, comparisons = != < <= > >=, and / or / not, parentheses, and functions:
 *   aggregates over a user's events  count sum mean min max top first last distinct (selector)
 *   attr(name) field(name) ratio(a, b) if(c, a[, b]) band(x, t1, l1, …, lN) anyof(x, a, b, …)
 *   has(x) default(x, y) abs(x) replace(text, from, to)
 *
 * An aggregate's argument is a selector (src/data/import/selector.ts), not an expression, so the
 * old form `count(bill.category=food delivery)` keeps working. Parsing (here) reports what is
 * wrong and where; evaluation (expr-eval.ts) never throws on data.
 */
import { parseSelector, type Selector } from './selector.js';

/** A template value; undefined (elsewhere) = missing. */
export type Value = string | number | boolean;

export type Expr =
  | { kind: 'literal'; value: Value }
  | { kind: 'name'; name: string }
  | { kind: 'unary'; op: '-' | 'not'; arg: Expr }
  | { kind: 'binary'; op: string; left: Expr; right: Expr }
  | { kind: 'call'; fn: string; args: Expr[] }
  | { kind: 'aggregate'; fn: AggregateFn; selector: Selector }
  | { kind: 'lookup'; fn: 'attr' | 'field'; name: string };

export const AGGREGATES = ['count', 'sum', 'mean', 'min', 'max', 'top', 'first', 'last', 'distinct'] as const;
export type AggregateFn = (typeof AGGREGATES)[number];
const FUNCTIONS: Record<string, [number, number]> = {
  ratio: [2, 2], if: [2, 3], band: [4, Infinity], anyof: [2, Infinity], has: [1, 1], default: [2, 2], abs: [1, 1], replace: [3, 3],
};

/** What a template may use: events' fields (render templates) or a user's aggregates and attributes (answers, labels). */
export interface ExprContext {
  kind: 'event' | 'user';
  /** Source names an aggregate may read (user-defined names and the four slots). */
  sources: ReadonlySet<string>;
  /** Whether `future:` selectors are allowed (a cut rule exists). */
  hasFuture: boolean;
}

/** Names an expression reads, for the callers that hide or keep fields. */
export interface Reads {
  names: Set<string>;
  aggregates: Selector[];
}

type Token = { t: 'num'; v: number } | { t: 'str'; v: string } | { t: 'id'; v: string } | { t: 'op'; v: string } | { t: 'raw'; v: string };

/** Functions whose argument is raw text (a selector or a name), lexed as one token. */
const RAW_FNS: ReadonlySet<string> = new Set([...AGGREGATES, 'attr', 'field']);

const OPS = ['>=', '<=', '!=', '(', ')', ',', '+', '-', '*', '/', '=', '<', '>'];

/** Parses one expression. @throws Error naming the problem. */
export function parseExpr(text: string, ctx: ExprContext, reads?: Reads): Expr {
  const p = new Parser(text, ctx, reads ?? { names: new Set(), aggregates: [] });
  const e = p.or();
  if (!p.done()) throw new Error(`unexpected ${p.describe()} after a complete expression`);
  return e;
}

class Parser {
  private tokens: Token[] = [];
  private i = 0;

  constructor(private readonly text: string, private readonly ctx: ExprContext, private readonly reads: Reads) {
    this.lex();
  }

  private lex(): void {
    const s = this.text;
    for (let i = 0; i < s.length; ) {
      const c = s[i]!;
      if (/\s/.test(c)) {
        i++;
        continue;
      }
      if (/[0-9.]/.test(c)) {
        const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/.exec(s.slice(i));
        if (!m) throw new Error(`bad number at "${s.slice(i, i + 10)}"`);
        this.tokens.push({ t: 'num', v: Number(m[0]) });
        i += m[0].length;
      } else if (c === "'" || c === '"') {
        const end = s.indexOf(c, i + 1);
        if (end < 0) throw new Error(`text starting at ${JSON.stringify(s.slice(i, i + 12))} is not closed with ${c}`);
        this.tokens.push({ t: 'str', v: s.slice(i + 1, end) });
        i = end + 1;
      } else if (/[A-Za-z_]/.test(c)) {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i))!;
        this.tokens.push({ t: 'id', v: m[0] });
        i += m[0].length;
        const open = /^\s*\(/.exec(s.slice(i));
        if (RAW_FNS.has(m[0]) && open) {
          // Everything up to the matching ")" is one selector or name (it may hold ~ [ ] : and spaces).
          const start = i + open[0].length;
          let depth = 1;
          let k = start;
          for (; k < s.length && depth > 0; k++) {
            if (s[k] === '(') depth++;
            else if (s[k] === ')') depth--;
          }
          if (depth > 0) throw new Error(`${m[0]}( is not closed with ")"`);
          this.tokens.push({ t: 'raw', v: s.slice(start, k - 1).trim() });
          i = k;
        }
      } else {
        const op = OPS.find((o) => s.startsWith(o, i));
        if (!op) throw new Error(`unexpected character ${JSON.stringify(c)}`);
        this.tokens.push({ t: 'op', v: op });
        i += op.length;
      }
    }
  }

  done(): boolean {
    return this.i >= this.tokens.length;
  }

  describe(): string {
    const tok = this.tokens[this.i];
    return tok ? `"${tok.v}"` : 'end of slot';
  }

  private peekOp(...ops: string[]): string | null {
    const tok = this.tokens[this.i];
    return tok && tok.t === 'op' && ops.includes(tok.v) ? tok.v : null;
  }

  private peekWord(word: string): boolean {
    const tok = this.tokens[this.i];
    return !!tok && tok.t === 'id' && tok.v === word;
  }

  private expectOp(op: string): void {
    if (!this.peekOp(op)) throw new Error(`expected "${op}" but found ${this.describe()}`);
    this.i++;
  }

  or(): Expr {
    let left = this.and();
    while (this.peekWord('or')) {
      this.i++;
      left = { kind: 'binary', op: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.peekWord('and')) {
      this.i++;
      left = { kind: 'binary', op: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): Expr {
    if (this.peekWord('not')) {
      this.i++;
      return { kind: 'unary', op: 'not', arg: this.not() };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.sum();
    const op = this.peekOp('=', '!=', '<', '<=', '>', '>=');
    if (!op) return left;
    this.i++;
    return { kind: 'binary', op, left, right: this.sum() };
  }

  private sum(): Expr {
    let left = this.product();
    for (let op = this.peekOp('+', '-'); op; op = this.peekOp('+', '-')) {
      this.i++;
      left = { kind: 'binary', op, left, right: this.product() };
    }
    return left;
  }

  private product(): Expr {
    let left = this.unary();
    for (let op = this.peekOp('*', '/'); op; op = this.peekOp('*', '/')) {
      this.i++;
      left = { kind: 'binary', op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): Expr {
    if (this.peekOp('-')) {
      this.i++;
      return { kind: 'unary', op: '-', arg: this.unary() };
    }
    return this.primary();
  }

  private primary(): Expr {
    const tok = this.tokens[this.i];
    if (!tok) throw new Error('expected a value but the slot ended');
    if (tok.t === 'num' || tok.t === 'str') {
      this.i++;
      return { kind: 'literal', value: tok.v };
    }
    if (tok.t === 'op' && tok.v === '(') {
      this.i++;
      const e = this.or();
      this.expectOp(')');
      return e;
    }
    if (tok.t !== 'id') throw new Error(`expected a value but found "${tok.v}"`);
    this.i++;
    if (tok.v === 'true' || tok.v === 'false') return { kind: 'literal', value: tok.v === 'true' };
    const next = this.tokens[this.i];
    if (next?.t === 'raw') {
      this.i++;
      return this.rawCall(tok.v, next.v);
    }
    if (!this.peekOp('(')) {
      this.reads.names.add(tok.v);
      return { kind: 'name', name: tok.v };
    }
    const fn = tok.v;
    const arity = FUNCTIONS[fn];
    if (!arity) throw new Error(`unknown function "${fn}"; use one of ${[...AGGREGATES, 'attr', 'field', ...Object.keys(FUNCTIONS)].join(', ')}`);
    this.i++;
    const args: Expr[] = [];
    if (!this.peekOp(')')) {
      args.push(this.or());
      while (this.peekOp(',')) {
        this.i++;
        args.push(this.or());
      }
    }
    this.expectOp(')');
    if (args.length < arity[0] || args.length > arity[1]) {
      throw new Error(`${fn}() takes ${arity[1] === Infinity ? `at least ${arity[0]}` : arity[0] === arity[1] ? arity[0] : `${arity[0]} or ${arity[1]}`} arguments; got ${args.length}`);
    }
    if (fn === 'band' && args.length % 2 === 1) throw new Error('band(x, t1, l1, …, tN, lN, l_last) takes x, then threshold/label pairs, then the last label');
    return { kind: 'call', fn, args };
  }

  /** fn(raw): aggregates take a selector, attr/field a name. */
  private rawCall(fn: string, raw: string): Expr {
    if (fn === 'attr' || fn === 'field') {
      const name = raw.replace(/^(['"])(.*)\1$/, '$2');
      if (name === '') throw new Error(`${fn}() needs a name`);
      if (fn === 'attr' && this.ctx.kind === 'event') throw new Error('attr() reads user attributes; render templates see only the event\'s fields');
      if (fn === 'field' && this.ctx.kind === 'user') throw new Error('field() reads an event\'s field; in answers use an aggregate such as last(source.field)');
      this.reads.names.add(name);
      return { kind: 'lookup', fn, name };
    }
    if (this.ctx.kind === 'event') throw new Error(`${fn}() aggregates a user's events; render templates see one event (use its field names)`);
    const selector = parseSelector(raw, fn as AggregateFn, this.ctx);
    this.reads.aggregates.push(selector);
    return { kind: 'aggregate', fn: fn as AggregateFn, selector };
  }
}
