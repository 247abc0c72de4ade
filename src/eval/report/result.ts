/**
 * @module eval/report/result
 * The plain-JSON result of `instructue report` (docs/results.json) and the helpers that turn
 * probe results into table rows (AUC/KS per scenario plus their means).
 */
import type { ProbeResult } from '../probe.js';
import type { ClaimResult } from './claims.js';
import type { ReportParams } from './plan.js';

export interface Score {
  auc: number;
  ks: number;
}

/** One row of Table 2 or Table 3. */
export interface TableRow {
  key: string;
  label: string;
  /** Per scenario, in SCENARIO_NAMES order. */
  scores: Record<string, Score>;
  /** Unweighted means over the scenarios. */
  mean: Score;
}

/** How one training run's losses moved: means of its first and last metrics lines (null = loss off). */
export interface RunSummary {
  key: string;
  overrides: Record<string, unknown>;
  steps: number;
  lossLm: [number, number] | null;
  lossCl: [number, number] | null;
}

/** Instruction tuning of one scenario. */
export interface TuningSummary {
  scenario: string;
  tokens: number;
  /** Eq. 6 on the shots before and after tuning. */
  shotsLoss: [number, number];
  /** Eq. 6 on held-out users of the tuning pool: written instruction vs tuned vectors. */
  heldOut: { users: number; manual: number; tuned: number };
}

export interface ReportResult {
  format: 'instructue-report/1';
  /** The command line that produced it. */
  command: string;
  params: ReportParams;
  versions: Record<string, string>;
  /** Seconds from start to end (not compared by `report --check`). */
  wallSeconds: number;
  /** Positives / labelled users in the probe's evaluation half, per scenario. */
  evalHalf: Record<string, { users: number; positives: number }>;
  runs: RunSummary[];
  main: TableRow[];
  ablation: TableRow[];
  tuning: TuningSummary[];
  claims: ClaimResult[];
  /** Path of the figure relative to the results file's folder, or null when none was drawn. */
  figure: string | null;
}

/** Keys `report --check` ignores: they legitimately differ between identical reruns. */
export const UNCOMPARED_KEYS = new Set(['command', 'versions', 'wallSeconds']);

/** Mean AUC and KS over the row's scenarios. */
function meanOf(scores: Record<string, Score>): Score {
  const all = Object.values(scores);
  return { auc: all.reduce((a, s) => a + s.auc, 0) / all.length, ks: all.reduce((a, s) => a + s.ks, 0) / all.length };
}

/** A table row from per-scenario probe results (one probe of all scenarios, or one per scenario). */
export function rowFromProbes(key: string, label: string, probes: ProbeResult[], scenarios: readonly string[]): TableRow {
  const byName = new Map(probes.flatMap((p) => p.scenarios).map((s) => [s.scenario, s]));
  const scores: Record<string, Score> = {};
  for (const name of scenarios) {
    const s = byName.get(name);
    if (!s) throw new Error(`report: no probe result for scenario ${name} in row ${key}`);
    scores[name] = { auc: s.auc, ks: s.ks };
  }
  return { key, label, scores, mean: meanOf(scores) };
}
