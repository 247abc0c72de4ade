/**
 * @module data/import/rules
 * The rules file of `instructue import` (docs/import.md): which columns hold the user id, the
 * source and the time stamp, how raw source names map to bill/minipro/spm/search, an optional
 * cutoff date splitting history from the forward-looking window, attribute columns that become
 * evaluation labels, and the instruction–answer templates. Checked whole at load: every problem
 * names the rules file and the key.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../errors.js';
import { SOURCE_NAMES, type SourceName } from '../types.js';
import { parseTemplate, type Template } from './template.js';

export interface ImportRules {
  columns: { user_id: string; source: string; timestamp: string };
  /** Raw source value → source name (the four names map to themselves unless overridden). */
  sources: Record<string, SourceName>;
  /** ISO date: events on or after it form the future window; '' = no future window. */
  cutoff: string;
  /** User-table columns copied into `labels` (values must be 0 or 1). */
  labels: string[];
  /** General-mode answer template; null = no general-mode records. */
  general: Template | null;
  pairs: Array<{ instruction: string; answer: Template }>;
}

const KEYS = ['columns', 'sources', 'cutoff', 'labels', 'general', 'pairs'];

/** Reads and checks a rules file. @throws ConfigError listing every problem. */
export function loadImportRules(path: string): ImportRules {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`cannot read import rules ${path}: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  const problem = (key: string, why: string) => problems.push(`${key}: ${why}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`import rules ${path} must be a JSON object (see docs/import.md)`);
  for (const key of Object.keys(raw)) if (!KEYS.includes(key)) problem(key, `unknown key; allowed: ${KEYS.join(', ')}`);

  const columns = { user_id: 'user_id', source: 'source', timestamp: 'timestamp' };
  for (const [k, v] of Object.entries((raw.columns ?? {}) as Record<string, unknown>)) {
    if (!(k in columns)) problem(`columns.${k}`, 'unknown; allowed: user_id, source, timestamp');
    else if (typeof v !== 'string' || v === '') problem(`columns.${k}`, 'must be a column name');
    else columns[k as keyof typeof columns] = v;
  }
  const sources: Record<string, SourceName> = Object.fromEntries(SOURCE_NAMES.map((s) => [s, s]));
  for (const [k, v] of Object.entries((raw.sources ?? {}) as Record<string, unknown>)) {
    if (!SOURCE_NAMES.includes(v as SourceName)) problem(`sources.${k}`, `must be one of ${SOURCE_NAMES.join(', ')}; got ${JSON.stringify(v)}`);
    else sources[k] = v as SourceName;
  }
  const cutoff = raw.cutoff ?? '';
  if (typeof cutoff !== 'string' || (cutoff !== '' && !/^\d{4}-\d{2}-\d{2}$/.test(cutoff))) problem('cutoff', `must be a date like "2024-03-01"; got ${JSON.stringify(cutoff)}`);
  const labels = raw.labels ?? [];
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) problem('labels', 'must be a list of user-table column names');

  const template = (key: string, text: unknown): Template | null => {
    try {
      if (typeof text !== 'string') throw new Error('must be a string');
      return parseTemplate(text, cutoff !== '');
    } catch (err) {
      problem(key, (err as Error).message);
      return null;
    }
  };
  const general = raw.general === undefined || raw.general === null ? null : template('general', raw.general);
  const pairs: ImportRules['pairs'] = [];
  if (!Array.isArray(raw.pairs ?? [])) problem('pairs', 'must be a list of {"instruction", "answer"}');
  else {
    ((raw.pairs ?? []) as unknown[]).forEach((p, i) => {
      const pair = (p ?? {}) as Record<string, unknown>;
      if (typeof pair.instruction !== 'string' || pair.instruction === '') problem(`pairs[${i}].instruction`, 'must be a non-empty string');
      const answer = template(`pairs[${i}].answer`, pair.answer);
      if (answer && typeof pair.instruction === 'string') pairs.push({ instruction: pair.instruction, answer });
    });
  }
  if (general === null && pairs.length === 0 && problems.length === 0) problem('pairs', 'no records would be written; give "general" (may be "") and/or "pairs"');
  if (problems.length > 0) throw new ConfigError(`import rules ${path}:\n  ${problems.join('\n  ')}\n(see docs/import.md)`);
  return { columns, sources, cutoff: cutoff as string, labels: labels as string[], general, pairs };
}
