/**
 * @module data/import/rules
 * The rules file of `instructue import` (docs/import.md): which columns hold the user id, the
 * source and the time stamp; your source names and their slots and render templates; the cut
 * rule between history and the future window; wide-table patterns; label definitions; hidden
 * attributes; and the instruction–answer templates. Checked whole at load: every problem names
 * the rules file and the key, and all of them are reported at once.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../errors.js';
import type { ExprContext } from './expr.js';
import { parseCut, type CutRule } from './cut.js';
import { parseSources, type SourceSpec } from './sources.js';
import { parseTemplate, type Template } from './template.js';
import { parseWide, type WideSpec } from './wide.js';

/** One evaluation label: a 0/1 user-table column, or a template giving 0/1 (or yes/no) per user. */
export interface LabelSpec {
  name: string;
  column: string | null;
  template: Template | null;
}

export interface ImportRules {
  /** The rules file (for messages). */
  file: string;
  columns: { user_id: string; source: string; timestamp: string };
  /** Source name → spec (the four slot names map to themselves unless overridden). */
  sources: Map<string, SourceSpec>;
  cut: CutRule;
  labels: LabelSpec[];
  /**
   * User attributes kept for templates but not written into `tabular`: `hide_attributes`, label
   * columns, attributes a label template reads, and the cut column.
   */
  hiddenAttributes: Set<string>;
  /** General-mode answer template; null = no general-mode records. */
  general: Template | null;
  pairs: Array<{ instruction: string; answer: Template }>;
  wide: WideSpec[];
}

const KEYS = ['columns', 'sources', 'cutoff', 'labels', 'hide_attributes', 'general', 'pairs', 'wide'];

/** Reads and checks a rules file. @throws ConfigError listing every problem. */
export function loadImportRules(path: string): ImportRules {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read import rules ${path}: ${(err as Error).message}`);
  }
  return parseImportRules(raw, path);
}

/** Checks parsed rules (exported for tests). @throws ConfigError listing every problem. */
export function parseImportRules(raw: unknown, path: string): ImportRules {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`import rules ${path} must be a JSON object (see docs/import.md)`);
  const r = raw as Record<string, unknown>;
  const problems: string[] = [];
  const problem = (key: string, why: string) => problems.push(`${key}: ${why}`);
  for (const key of Object.keys(r)) if (!KEYS.includes(key)) problem(key, `unknown key; allowed: ${KEYS.join(', ')}`);

  const columns = { user_id: 'user_id', source: 'source', timestamp: 'timestamp' };
  for (const [k, v] of Object.entries((r.columns ?? {}) as Record<string, unknown>)) {
    if (!(k in columns)) problem(`columns.${k}`, 'unknown; allowed: user_id, source, timestamp');
    else if (typeof v !== 'string' || v === '') problem(`columns.${k}`, 'must be a column name');
    else columns[k as keyof typeof columns] = v;
  }
  const sources = parseSources(r.sources, problem);
  const cut = parseCut(r.cutoff, problem);
  const ctx: ExprContext = { kind: 'user', sources: new Set(sources.keys()), hasFuture: cut.kind !== 'none' };
  const template = (key: string, text: unknown): Template | null => {
    try {
      if (typeof text !== 'string') throw new Error('must be a template string');
      return parseTemplate(text, ctx);
    } catch (err) {
      problem(key, (err as Error).message);
      return null;
    }
  };

  const hiddenAttributes = new Set<string>();
  const hide = r.hide_attributes ?? [];
  if (!Array.isArray(hide) || hide.some((h) => typeof h !== 'string')) problem('hide_attributes', 'must be a list of user-table column names');
  else hide.forEach((h) => hiddenAttributes.add(h as string));
  if (cut.kind === 'column') hiddenAttributes.add(cut.column);

  const labels: LabelSpec[] = [];
  const rawLabels = r.labels ?? [];
  if (Array.isArray(rawLabels)) {
    rawLabels.forEach((l, i) => {
      if (typeof l !== 'string' || l === '') problem(`labels[${i}]`, 'must be a user-table column name');
      else labels.push({ name: l, column: l, template: null });
    });
  } else if (typeof rawLabels === 'object' && rawLabels !== null) {
    for (const [name, text] of Object.entries(rawLabels as Record<string, unknown>)) {
      const t = template(`labels.${name}`, text);
      if (t) labels.push({ name, column: null, template: t });
    }
  } else {
    problem('labels', 'must be a list of 0/1 user-table columns, or an object: label name → template giving 0 or 1');
  }
  for (const l of labels) {
    if (l.column) hiddenAttributes.add(l.column);
    // A label read from an attribute must not also be an input: hide what label templates read.
    for (const name of l.template?.reads.names ?? []) hiddenAttributes.add(name);
  }

  const general = r.general === undefined || r.general === null ? null : template('general', r.general);
  const pairs: ImportRules['pairs'] = [];
  if (!Array.isArray(r.pairs ?? [])) problem('pairs', 'must be a list of {"instruction", "answer"}');
  else {
    ((r.pairs ?? []) as unknown[]).forEach((p, i) => {
      const pair = (p ?? {}) as Record<string, unknown>;
      if (typeof pair.instruction !== 'string' || pair.instruction === '') problem(`pairs[${i}].instruction`, 'must be a non-empty string');
      const answer = template(`pairs[${i}].answer`, pair.answer);
      if (answer && typeof pair.instruction === 'string') pairs.push({ instruction: pair.instruction, answer });
    });
  }
  const wideRaw = r.wide === undefined ? [] : Array.isArray(r.wide) ? r.wide : [r.wide];
  const wide = wideRaw.flatMap((w, i) => parseWide(w, Array.isArray(r.wide) ? `wide[${i}]` : 'wide', ctx.sources, problem) ?? []);
  if (general === null && pairs.length === 0 && labels.length === 0 && problems.length === 0) {
    problem('pairs', 'no records would be written; give "general" (may be ""), "pairs" and/or "labels"');
  }
  if (problems.length > 0) throw new ConfigError(`import rules ${path}:\n  ${problems.join('\n  ')}\n(see docs/import.md)`);
  return { file: path, columns, sources, cut, labels, hiddenAttributes, general, pairs, wide };
}
