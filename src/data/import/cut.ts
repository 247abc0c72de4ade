/**
 * @module data/import/cut
 * Where each user's history ends and the future window begins (the rules' `cutoff`). Events at
 * or after the cut time are never written into the records' sources; they only feed `future:`
 * aggregates (forward-looking answers and labels, paper §3.2). Forms:
 *
 *   "2024-03-01" / "2024-03-01T12:00:00Z"  one cut time for everyone (no offset = UTC)
 *   {"column": "cut_at"}                    per user, from a user-table (or wide-table) column
 *   {"before_last": "30d"}                  per user: the last 30 days (or 12h, 90min) of their events
 *   {"future_share": 0.2}                   per user: the latest 20 % of their events (at least one)
 *
 * A user without a cut (empty column, no events for the per-user rules) is left out of the
 * output and counted in import.json's `users_without_cut`.
 */
import type { Cell } from './tables.js';
import { isoToMs, parseDuration } from './time.js';

export type CutRule =
  | { kind: 'none' }
  | { kind: 'fixed'; ms: number }
  | { kind: 'column'; column: string }
  | { kind: 'before_last'; ms: number }
  | { kind: 'future_share'; share: number };

/** Parses `cutoff`; returns null (after reporting) when it is malformed. */
export function parseCut(raw: unknown, problem: (key: string, why: string) => void): CutRule {
  if (raw === undefined || raw === null || raw === '') return { kind: 'none' };
  if (typeof raw === 'string') {
    const ms = isoToMs(raw);
    if (ms === null) problem('cutoff', `must be an ISO date or date-time like "2024-03-01" or "2024-03-01T12:00:00Z"; got ${JSON.stringify(raw)}`);
    return ms === null ? { kind: 'none' } : { kind: 'fixed', ms };
  }
  const usage = 'must be a date, or one of {"column": NAME}, {"before_last": "30d"}, {"future_share": 0.2}';
  if (typeof raw !== 'object' || Array.isArray(raw) || Object.keys(raw).length !== 1) {
    problem('cutoff', usage);
    return { kind: 'none' };
  }
  const [[key, value]] = Object.entries(raw as Record<string, unknown>) as [[string, unknown]];
  if (key === 'column') {
    if (typeof value === 'string' && value !== '') return { kind: 'column', column: value };
    problem('cutoff.column', 'must be the name of a user-table column holding each user\'s cut time');
  } else if (key === 'before_last') {
    const ms = parseDuration(value);
    if (ms !== null && ms > 0) return { kind: 'before_last', ms };
    problem('cutoff.before_last', `must be a duration like "30d", "12h" or "90min"; got ${JSON.stringify(value)}`);
  } else if (key === 'future_share') {
    if (typeof value === 'number' && value > 0 && value < 1) return { kind: 'future_share', share: value };
    problem('cutoff.future_share', `must be a number between 0 and 1 (exclusive); got ${JSON.stringify(value)}`);
  } else {
    problem(`cutoff.${key}`, `unknown form; ${usage}`);
  }
  return { kind: 'none' };
}

/** A user-table cell as a cut time (ISO text or Unix seconds/ms), or null. */
export function cellToMs(cell: Cell | undefined): number | null {
  if (typeof cell === 'number' && Number.isFinite(cell) && cell >= 0) return cell < 1e11 ? cell * 1000 : cell;
  return typeof cell === 'string' ? isoToMs(cell) : null;
}

/**
 * The user's cut time in ms: Infinity when there is no future window, null when the rule gives
 * this user none. `times` are the user's event times, ascending.
 */
export function userCut(rule: CutRule, times: readonly number[], column: Cell | undefined): number | null {
  switch (rule.kind) {
    case 'none': return Infinity;
    case 'fixed': return rule.ms;
    case 'column': return cellToMs(column);
    case 'before_last': return times.length === 0 ? null : times[times.length - 1]! - rule.ms;
    case 'future_share': {
      if (times.length === 0) return null;
      // The k latest events (k ≥ 1) form the future; events tied with the first of them go too.
      const k = Math.max(1, Math.round(rule.share * times.length));
      return times[times.length - k]!;
    }
  }
}
