/**
 * A group of `Collectives`, one per rank, over given transports (tests drive every rank from
 * one process; the process test drives real child processes instead).
 */
import { Collectives, type CollectivesOptions } from '../../../src/collectives/collectives.js';
import type { Transport } from '../../../src/transport/transport.js';

export type WorldOptions = Omit<CollectivesOptions, 'rank' | 'worldSize'>;

export const defaultWorld: WorldOptions = { job: 'test', epoch: 1, chunkBytes: 4096, wireDtype: 'float32', timeoutMs: 10_000 };

/** Started collectives for ranks 0…n−1 on `transports[rank]`. */
export async function startWorld(transports: Transport[], options: Partial<WorldOptions> = {}): Promise<Collectives[]> {
  const ranks = transports.map((t, rank) => new Collectives(t, { ...defaultWorld, ...options, rank, worldSize: transports.length }));
  await Promise.all(ranks.map((c) => c.start()));
  return ranks;
}

/** Runs `fn` on every rank at once and returns the results by rank. */
export function onAll<T>(ranks: Collectives[], fn: (c: Collectives, rank: number) => Promise<T>): Promise<T[]> {
  return Promise.all(ranks.map((c, rank) => fn(c, rank)));
}
