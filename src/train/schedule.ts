/**
 * @module train/schedule
 * Learning rate: linear warm-up to the peak, then cosine decay to `minRatio`·peak at the last
 * step (the paper's "cosine decay learning rate initialized at 2e-4"). Pure function of the
 * step, so a resumed or resized run continues on the same curve.
 */

export interface ScheduleConfig {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  minRatio: number;
}

/** LR for optimizer step `step` (1-based: the first update uses step 1). */
export function learningRate(cfg: ScheduleConfig, step: number): number {
  if (cfg.warmupSteps > 0 && step <= cfg.warmupSteps) return (cfg.peak * step) / cfg.warmupSteps;
  const span = Math.max(1, cfg.totalSteps - cfg.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - cfg.warmupSteps) / span));
  const floor = cfg.peak * cfg.minRatio;
  return floor + 0.5 * (cfg.peak - floor) * (1 + Math.cos(Math.PI * progress));
}
