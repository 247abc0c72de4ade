/**
 * @module data/synth/traits
 * The latent traits of a synthetic user: what the behaviour, the tabular profile, the answers
 * and the evaluation labels are generated from. Traits are correlated the way one expects
 * (middle age and big cities earn more, the young game more, the rich drive), so no single
 * behaviour gives a trait away.
 */
import type { Rng } from '../../util/rng.js';
import { weighted } from './draws.js';
import { COMMUTES, DINING, FILM_GENRES, type Commute } from './catalog.js';

export interface Traits {
  /** Index into AGE_BANDS. */
  age: number;
  /** Index into CITY_TIERS (0 = tier 1, the largest cities). */
  city: number;
  /** Purchasing power, a standardised latent score. */
  power: number;
  commute: Commute;
  /** Green-mindedness, latent score. */
  eco: number;
  /** Interest in mobile games, latent score. */
  gaming: number;
  /** Habit of ordering food delivery, latent score. */
  delivery: number;
  /** How often the user goes to the cinema, latent score. */
  cinema: number;
  /** Index into DINING: the preferred dining category. */
  dining: number;
  /** Index into FILM_GENRES: the preferred film genre. */
  film: number;
  /** Overall activity multiplier (> 0) scaling every event rate. */
  activity: number;
  /** Preferred payment channel index (CHANNELS). */
  channel: number;
}

const AGE_WEIGHTS = [0.2, 0.3, 0.22, 0.16, 0.12];
const CITY_WEIGHTS = [0.25, 0.3, 0.25, 0.2];
/** Purchasing-power shift per age band and per city tier. */
const AGE_POWER = [-0.6, 0.1, 0.45, 0.3, -0.2];
const CITY_POWER = [0.45, 0.15, -0.15, -0.45];
/** Youth score per age band (drives gaming, delivery, eco). */
const YOUTH = [1, 0.6, 0, -0.5, -1];

/** Draws one user's traits. */
export function sampleTraits(rng: Rng): Traits {
  const age = weighted(rng, AGE_WEIGHTS);
  const city = weighted(rng, CITY_WEIGHTS);
  const youth = YOUTH[age];
  const power = AGE_POWER[age] + CITY_POWER[city] + 0.85 * rng.normal();
  const eco = 0.35 * youth + rng.normal();
  const commuteLogits: Record<Commute, number> = {
    metro: 0.9 - 0.45 * city - 0.3 * power,
    bus: 0.2 + 0.2 * city - 0.5 * power + 0.3 * Math.max(0, -youth),
    car: -0.4 + 1.1 * power + 0.25 * city,
    bike: -0.8 + 0.7 * eco + 0.3 * youth,
  };
  const commute = COMMUTES[softmaxPick(rng, COMMUTES.map((c) => commuteLogits[c]))];
  const gaming = 0.6 * youth + rng.normal();
  const delivery = 0.4 * youth + 0.25 * power + 0.2 * (1 - city) + rng.normal();
  const cinema = 0.3 * youth + 0.2 * power + rng.normal();
  const diningLogits = DINING.map((d) => {
    if (d.category === 'fine dining') return -0.6 + 1.3 * power;
    if (d.category === 'fast food') return 0.3 + 0.5 * youth - 0.6 * power;
    if (d.category === 'healthy food') return -0.2 + 0.7 * eco;
    return 0;
  });
  const filmLogits = FILM_GENRES.map((g) => (g === 'animation' ? 0.6 * youth : g === 'documentary' ? 0.4 * eco - 0.4 * youth : 0));
  const channelLogits = [0.6 + 0.3 * youth, 0.8 * power, 0, -0.4 - 0.3 * youth];
  return {
    age,
    city,
    power,
    commute,
    eco,
    gaming,
    delivery,
    cinema,
    dining: softmaxPick(rng, diningLogits),
    film: softmaxPick(rng, filmLogits),
    activity: Math.exp(0.35 * rng.normal()),
    channel: softmaxPick(rng, channelLogits),
  };
}

/** Index drawn with probability ∝ exp(logit). */
export function softmaxPick(rng: Rng, logits: readonly number[]): number {
  return weighted(rng, logits.map((l) => Math.exp(l)));
}

/** Purchasing power level index (POWER_LEVELS): tertiles of the latent score's population. */
export function powerLevel(t: Traits): number {
  return t.power < -0.35 ? 0 : t.power < 0.45 ? 1 : 2;
}

