/**
 * @module data/synth/draws
 * The discrete draws the generator needs on top of the project's seeded PRNG
 * (src/util/rng.ts): coin flips, Poisson counts, uniform and weighted choices.
 */
import type { Rng } from '../../util/rng.js';

/** True with probability p. */
export function chance(rng: Rng, p: number): boolean {
  return rng.next() < p;
}

/** Poisson count with mean `lambda` (Knuth's product method; fine for the small means used here). */
export function poisson(rng: Rng, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  for (let p = rng.next(); p > limit; p *= rng.next()) k++;
  return k;
}

/** One element of a non-empty list, uniformly. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

/** Index drawn in proportion to non-negative `weights` (at least one positive). */
export function weighted(rng: Rng, weights: readonly number[]): number {
  let r = rng.next() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.length - 1;
}
