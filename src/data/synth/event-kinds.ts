/**
 * @module data/synth/event-kinds
 * What a synthetic user does: behaviour kinds (food delivery, metro rides, game top-ups, …),
 * each with a rate per history window that depends on the user's traits, and the source events
 * (bill, mini program, page position, search) one occurrence of the kind can leave. `noise`
 * kinds do not depend on traits: they are the irrelevant events that dilute the signal.
 */
import type { Rng } from '../../util/rng.js';
import { chance, pick } from './draws.js';
import type { SourceName } from '../types.js';
import { BILL_ITEMS, CHANNELS, DINING, FILM_GENRES, MINIPRO_APPS, SEARCH_QUERIES, SPM_PAGES } from './catalog.js';
import type { Traits } from './traits.js';

export const KIND_NAMES = ['delivery', 'metro', 'bus', 'car', 'bike', 'game', 'movie', 'eco', 'dining', 'wealth', 'luxury', 'clothing', 'noise'] as const;
export type KindName = (typeof KIND_NAMES)[number];

type Fields = Record<string, string | number>;

/** How strongly traits shape behaviour, and how much irrelevant behaviour there is. */
export interface BehaviourParams {
  /** Multiplies every trait effect on rates (1 = as tuned; 0 = traits invisible). */
  signal: number;
  /** Expected irrelevant events per source per history window. */
  noiseRate: number;
  /** Rate of a commute mode's events for users who do not commute that way, relative to those who do. */
  offModeRate: number;
}

/**
 * Expected occurrences per source in the 60-day history window (the 31-day future window uses
 * half), before the user's activity multiplier.
 */
export function kindRate(kind: KindName, t: Traits, p: BehaviourParams): number {
  const e = (coef: number, z: number) => Math.exp(p.signal * coef * z);
  switch (kind) {
    case 'delivery':
      return 0.6 * e(0.9, t.delivery);
    case 'metro':
    case 'bus':
    case 'car':
    case 'bike':
      return t.commute === kind ? 1.1 : 1.1 * p.offModeRate;
    case 'game':
      return 0.3 * e(1.3, t.gaming);
    case 'movie':
      return 0.3 * e(1.3, t.cinema);
    case 'eco':
      return 0.3 * e(1.4, t.eco);
    case 'dining':
      return 0.7;
    case 'wealth':
      return 0.2 * e(0.8, t.power);
    case 'luxury':
      return 0.06 * e(1.2, t.power);
    case 'clothing':
      return 0.3;
    case 'noise':
      return p.noiseRate;
  }
}

/** The kinds that can appear in each source. */
export const SOURCE_KINDS: Record<SourceName, readonly KindName[]> = {
  bill: ['delivery', 'metro', 'bus', 'car', 'bike', 'game', 'movie', 'eco', 'dining', 'luxury', 'clothing', 'noise'],
  minipro: ['delivery', 'metro', 'bus', 'car', 'bike', 'game', 'movie', 'eco', 'dining', 'wealth', 'noise'],
  spm: ['delivery', 'metro', 'bus', 'car', 'bike', 'game', 'movie', 'eco', 'dining', 'wealth', 'noise'],
  search: ['delivery', 'metro', 'bus', 'car', 'bike', 'game', 'movie', 'eco', 'dining', 'wealth', 'noise'],
};

/** The structured fields (everything but `ts`) of one occurrence of `kind` in `source`. */
export function makeEventFields(source: SourceName, kind: KindName, t: Traits, rng: Rng): Fields {
  const taste = (s: string) => s.replace('{genre}', FILM_GENRES[t.film]).replace('{dining}', DINING[t.dining].category);
  switch (source) {
    case 'bill':
      return billFields(kind, t, rng, taste);
    case 'minipro': {
      const entry = kind === 'noise' ? pick(rng, MINIPRO_APPS.noise) : MINIPRO_APPS[kind as Exclude<keyof typeof MINIPRO_APPS, 'noise'>];
      return { app: entry.app, action: pick(rng, entry.actions) };
    }
    case 'spm': {
      const entry = kind === 'noise' ? pick(rng, SPM_PAGES.noise) : SPM_PAGES[kind as Exclude<keyof typeof SPM_PAGES, 'noise'>];
      return { page: entry.page, element: taste(pick(rng, entry.elements)) };
    }
    case 'search':
      return { text: taste(pick(rng, SEARCH_QUERIES[kind as keyof typeof SEARCH_QUERIES])) };
  }
}

function billFields(kind: KindName, t: Traits, rng: Rng, taste: (s: string) => string): Fields {
  let entry: { items: readonly string[]; category: string; price: number };
  if (kind === 'dining') {
    // Mostly the preferred category, sometimes another one: taste shows as a tendency.
    const d = chance(rng, 0.7) ? DINING[t.dining] : pick(rng, DINING);
    entry = { items: d.items, category: d.category, price: d.price };
  } else if (kind === 'noise') {
    entry = pick(rng, BILL_ITEMS.noise);
  } else {
    entry = BILL_ITEMS[kind as Exclude<keyof typeof BILL_ITEMS, 'noise'>];
  }
  const amount = Math.max(1, Math.round(entry.price * Math.exp(0.3 * t.power + 0.25 * rng.normal())));
  const channel = chance(rng, 0.7) ? CHANNELS[t.channel] : pick(rng, CHANNELS);
  return { amount, item: taste(pick(rng, entry.items)), category: entry.category, channel };
}
