/**
 * @module data/import/time
 * Time stamps as `instructue import` compares them: ISO-8601 text (a date, or a date-time with an
 * optional offset) or Unix seconds/milliseconds, turned into epoch milliseconds; text without an
 * offset is read as UTC (not the machine's zone), so an import gives the same split on every
 * machine. Also the durations of cut rules (`30d`, `12h`, `90min`) and calendar steps of wide
 * tables (`-1 month`, `7 days`).
 */
import { isIsoTimestamp } from '../validate.js';

/** Epoch ms of an ISO-8601 text (no offset = UTC), or null when it is not one. */
export function isoToMs(text: string): number | null {
  const t = text.trim();
  if (!isIsoTimestamp(t)) return null;
  let iso = t.replace(' ', 'T');
  if (iso.length === 10) iso += 'T00:00:00Z';
  else if (!/(?:Z|[+-]\d{2}:?\d{2})$/.test(iso)) iso += 'Z';
  // "+0800" → "+08:00": Date.parse wants the colon.
  iso = iso.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

/** A cell as written into records: ISO text as is; Unix seconds (< 1e11) or ms as `YYYY-MM-DDTHH:MM:SSZ`; else null. */
export function normaliseTimestamp(value: string | number | boolean | undefined): string | null {
  if (typeof value === 'string') return isIsoTimestamp(value.trim()) ? value.trim() : null;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return msToIso(value < 1e11 ? value * 1000 : value);
  return null;
}

/** `YYYY-MM-DDTHH:MM:SSZ` (whole seconds) of epoch ms. */
export function msToIso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, min: 60_000 };

/** `30d`, `12h`, `90min` → milliseconds, or null. */
export function parseDuration(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)\s*(d|h|min)$/.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : null;
}

/** A calendar step: `-1 month`, `3 months`, `7 days`, `1 day`, `-2 weeks`. */
export interface CalendarStep {
  months: number;
  days: number;
}

export function parseCalendarStep(text: unknown): CalendarStep | null {
  if (typeof text !== 'string') return null;
  const m = /^([+-]?\d+)\s*(months?|days?|weeks?)$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  if (m[2]!.startsWith('month')) return { months: n, days: 0 };
  return { months: 0, days: m[2]!.startsWith('week') ? 7 * n : n };
}

/**
 * `first` moved by `k` steps, in the same text form (date or date-time). Month steps keep the
 * day of month, clamped to the month's length (Jan 31 + 1 month = Feb 29 in 2024), and the
 * "last day of the month" stays the last day when `first` is one (Sep 30 − 1 month = Aug 31).
 */
export function stepDate(first: string, step: CalendarStep, k: number): string {
  const [y, mo, d] = first.slice(0, 10).split('-').map(Number) as [number, number, number];
  const rest = first.slice(10);
  let date: Date;
  if (step.months !== 0) {
    const daysIn = (year: number, month0: number) => new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();
    const wasLast = d === daysIn(y, mo - 1);
    const total = y * 12 + (mo - 1) + step.months * k;
    const year = Math.floor(total / 12);
    const month0 = total - year * 12;
    date = new Date(Date.UTC(year, month0, wasLast ? daysIn(year, month0) : Math.min(d, daysIn(year, month0))));
  } else {
    date = new Date(Date.UTC(y, mo - 1, d + step.days * k));
  }
  return date.toISOString().slice(0, 10) + rest;
}
