/**
 * @module eval/report/compare
 * `report --check`: a rerun's JSON against the committed one. Numbers must agree within a
 * tolerance (1e-3 by default), everything else exactly; the keys in UNCOMPARED_KEYS (command
 * line, versions, wall time) are skipped wherever they occur.
 */
import { UNCOMPARED_KEYS } from './result.js';

export interface Mismatch {
  /** JSON path, e.g. `main[3].scores.game_topup.auc`. */
  path: string;
  expected: unknown;
  actual: unknown;
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Every difference between `expected` and `actual` (empty = they match). */
export function compareReports(expected: unknown, actual: unknown, tolerance = 1e-3, path = ''): Mismatch[] {
  if (kind(expected) !== kind(actual)) return [{ path, expected, actual }];
  if (typeof expected === 'number') {
    const a = actual as number;
    const same = Number.isNaN(expected) ? Number.isNaN(a) : Math.abs(expected - a) <= tolerance;
    return same ? [] : [{ path, expected, actual }];
  }
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    if (expected.length !== a.length) return [{ path: `${path}.length`, expected: expected.length, actual: a.length }];
    return expected.flatMap((e, i) => compareReports(e, a[i], tolerance, `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(e), ...Object.keys(a)])].filter((k) => !UNCOMPARED_KEYS.has(k));
    return keys.flatMap((k) => compareReports(e[k], a[k], tolerance, path ? `${path}.${k}` : k));
  }
  return expected === actual ? [] : [{ path, expected, actual }];
}
