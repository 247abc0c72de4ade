/**
 * Timing helpers shared by the benchmarks: the median of `reps` runs after `warmup` runs.
 */

export interface Timing {
  backend: string;
  name: string;
  /** Tokens processed by one forward run and by one training run. */
  forwardTokens: number;
  trainTokens: number;
  forwardMs: number;
  trainMs: number;
}

export async function median(fn: () => void | Promise<void>, reps: number, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
