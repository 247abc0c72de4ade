/**
 * @module data/synth/behaviour
 * A user's events over a time window: for every source and behaviour kind, a Poisson number of
 * occurrences (rate from src/data/synth/event-kinds.ts × the user's activity × the window's
 * scale) on uniform days, sorted by day. The history window (60 days from 2024-01-01) becomes
 * the record's sources; the future window (March 2024) only feeds forward-looking answers and
 * evaluation labels, through per-kind counts and bill spend.
 */
import type { Rng } from '../../util/rng.js';
import { SOURCE_NAMES, type SourceEvent, type SourceName } from '../types.js';
import { poisson } from './draws.js';
import { KIND_NAMES, SOURCE_KINDS, kindRate, makeEventFields, type BehaviourParams, type KindName } from './event-kinds.js';
import type { Traits } from './traits.js';

export interface TimeWindow {
  /** First day, counted from 2024-01-01. */
  startDay: number;
  days: number;
  /** Multiplies the history-window rates. */
  scale: number;
}

export const HISTORY_WINDOW: TimeWindow = { startDay: 0, days: 60, scale: 1 };
export const FUTURE_WINDOW: TimeWindow = { startDay: 60, days: 31, scale: 0.5 };

/** ISO dates of 2024-01-01 … 2024-03-31 (computed once from the calendar, never from the clock). */
const DATES: string[] = Array.from({ length: 91 }, (_, d) => new Date(Date.UTC(2024, 0, 1 + d)).toISOString().slice(0, 10));

export interface WindowBehaviour {
  events: Record<SourceName, SourceEvent[]>;
  /** Occurrences per source and kind (before any cap). */
  counts: Record<SourceName, Record<KindName, number>>;
  /** Bill amounts summed per kind. */
  spend: Record<KindName, number>;
}

export interface WindowOptions {
  /** Sources the user has no data in (they stay empty). */
  missing?: ReadonlySet<SourceName>;
  /** Keep only the most recent events per source (history); default: all. */
  maxEvents?: number;
}

/** Generates one window of behaviour for a user. */
export function generateWindow(t: Traits, rng: Rng, params: BehaviourParams, window: TimeWindow, opts: WindowOptions = {}): WindowBehaviour {
  const events = {} as Record<SourceName, SourceEvent[]>;
  const counts = {} as Record<SourceName, Record<KindName, number>>;
  const spend = zeroKinds();
  for (const source of SOURCE_NAMES) {
    counts[source] = zeroKinds();
    if (opts.missing?.has(source)) {
      events[source] = [];
      continue;
    }
    const drawn: Array<{ day: number; event: SourceEvent }> = [];
    for (const kind of SOURCE_KINDS[source]) {
      const n = poisson(rng, kindRate(kind, t, params) * t.activity * window.scale);
      counts[source][kind] = n;
      for (let i = 0; i < n; i++) {
        const day = window.startDay + rng.int(window.days);
        const fields = makeEventFields(source, kind, t, rng);
        if (source === 'bill') spend[kind] += fields.amount as number;
        drawn.push({ day, event: { ts: DATES[day], ...fields } });
      }
    }
    drawn.sort((a, b) => a.day - b.day);
    const kept = opts.maxEvents !== undefined && drawn.length > opts.maxEvents ? drawn.slice(drawn.length - opts.maxEvents) : drawn;
    events[source] = kept.map((d) => d.event);
  }
  return { events, counts, spend };
}

/** Occurrences of `kind` summed over `sources`. */
export function countOf(w: WindowBehaviour, kind: KindName, sources: readonly SourceName[] = SOURCE_NAMES): number {
  let n = 0;
  for (const s of sources) n += w.counts[s][kind];
  return n;
}

function zeroKinds(): Record<KindName, number> {
  const out = {} as Record<KindName, number>;
  for (const k of KIND_NAMES) out[k] = 0;
  return out;
}
