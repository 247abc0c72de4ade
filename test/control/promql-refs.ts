/**
 * Test helper: what a PromQL expression refers to — the metric names of its selectors with the
 * label names they match on, and the label names of its `by`/`without`/`on`/`ignoring`
 * clauses — so a dashboard can be checked against the series an exporter emits. A small lexer,
 * enough for the expressions of a Grafana dashboard: it throws on what it does not know (an
 * unknown function, a Grafana variable outside a string or a range) rather than guess.
 */

export interface PromqlRefs {
  /** Each selector: its metric name and the label names it matches on. */
  selectors: Array<{ metric: string; labels: string[] }>;
  /** Label names of grouping and vector-matching clauses. */
  grouping: string[];
}

const FUNCTIONS = new Set([
  'abs', 'absent', 'avg_over_time', 'ceil', 'changes', 'clamp_max', 'clamp_min', 'count_over_time', 'delta', 'deriv', 'exp', 'floor',
  'histogram_quantile', 'increase', 'irate', 'label_replace', 'ln', 'log2', 'max_over_time', 'min_over_time', 'rate', 'resets', 'round',
  'scalar', 'sort', 'sort_desc', 'sum_over_time', 'time', 'timestamp', 'vector', 'last_over_time',
]);
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group']);
const CLAUSES = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['bool', 'and', 'or', 'unless', 'offset']);

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' ? 2 : 1;
      if (j >= expr.length) throw new Error(`unterminated string in ${expr}`);
      tokens.push({ kind: 'string', text: expr.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '[') {
      // A range or subquery: a duration (Grafana's $__rate_interval, $__range, or a literal).
      const j = expr.indexOf(']', i);
      const inside = expr.slice(i + 1, j);
      if (j < 0 || !/^(\$__rate_interval|\$__range|\$__interval|\d+[smhdwy])(:(\d+[smhdwy])?)?$/.test(inside)) throw new Error(`unexpected range [${inside}] in ${expr}`);
      i = j + 1;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else if (/[0-9.]/.test(c)) {
      const m = /^[0-9.]+(e[+-]?\d+)?/.exec(expr.slice(i))!;
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else {
      const two = expr.slice(i, i + 2);
      const op = ['=~', '!~', '!=', '==', '>=', '<='].includes(two) ? two : c;
      // Anything else (a Grafana variable outside a string or a range, say) is not understood.
      if (!'(){},=<>+-*/%^'.includes(op[0]!)) throw new Error(`unexpected "${c}" in ${expr}`);
      tokens.push({ kind: 'punct', text: op });
      i += op.length;
    }
  }
  return tokens;
}

/** The metrics and labels `expr` refers to. @throws on syntax this helper does not know */
export function promqlRefs(expr: string): PromqlRefs {
  const tokens = tokenize(expr);
  const refs: PromqlRefs = { selectors: [], grouping: [] };
  const labelList = (at: number): number => {
    // at: index of "("; returns the index after ")".
    let i = at + 1;
    while (tokens[i] && tokens[i]!.text !== ')') {
      const t = tokens[i]!;
      if (t.kind === 'ident') refs.grouping.push(t.text);
      else if (t.text !== ',') throw new Error(`unexpected "${t.text}" in a label list of ${expr}`);
      i++;
    }
    return i + 1;
  };
  for (let i = 0; i < tokens.length; ) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    if (t.kind !== 'ident') {
      if (t.text === '{') throw new Error(`a selector without a metric name in ${expr}`);
      i++;
      continue;
    }
    if (CLAUSES.has(t.text)) {
      if (next?.text !== '(') {
        i++; // group_left without labels
        continue;
      }
      i = labelList(i + 1);
    } else if (next?.text === '(') {
      if (!FUNCTIONS.has(t.text) && !AGGREGATIONS.has(t.text)) throw new Error(`unknown function ${t.text} in ${expr}`);
      i++;
    } else if (KEYWORDS.has(t.text)) i++;
    else if (AGGREGATIONS.has(t.text) && (next?.text === 'by' || next?.text === 'without')) i++;
    else {
      const selector = { metric: t.text, labels: [] as string[] };
      refs.selectors.push(selector);
      i++;
      if (tokens[i]?.text === '{') {
        i++;
        while (tokens[i] && tokens[i]!.text !== '}') {
          const [name, op, value] = [tokens[i]!, tokens[i + 1], tokens[i + 2]];
          if (name.kind !== 'ident' || !op || !['=', '!=', '=~', '!~'].includes(op.text) || value?.kind !== 'string') throw new Error(`bad label matcher in ${expr}`);
          selector.labels.push(name.text);
          i += 3;
          if (tokens[i]?.text === ',') i++;
        }
        i++;
      }
    }
  }
  return refs;
}
