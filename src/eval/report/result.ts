/**
 * @module eval/report/result
 * The plain-JSON result of `instructue report` (docs/results.json): the home of its types
 * (scores, table rows, claims, runs, tuning) and the helper that turns probe results into table
 * rows (AUC/KS ± standard error per scenario plus their means). Other report modules import
 * their types from here, never the other way round.
 */
import type { ProbeResult } from '../probe.js';
import type { RetrievalResult } from '../retrieval.js';
import type { ReportParams } from './plan.js';

export interface Score {
  auc: number;
  ks: number;
  /** Bootstrap standard errors (absent in results written before they were reported). */
  aucSE?: number;
  ksSE?: number;
}

export type Verdict = 'holds' | 'mixed' | 'does not hold';

/** One of the paper's claims checked on the report's rows (src/eval/report/claims.ts). */
export interface ClaimResult {
  id: string;
  statement: string;
  /** Scenarios (of 6) where A's AUC is higher, in the paper (null where the paper has no such row). */
  paperWins: number | null;
  /** Same on our data, and the mean AUC difference A − B (as a fraction, not %). */
  wins: number;
  meanDelta: number;
  verdict: Verdict;
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

/** Shortcut-free retrieval of one model on the held-out training-population users. */
export interface RetrievalRow {
  key: string;
  label: string;
  result: RetrievalResult;
}

/** Instruction tuning of one scenario. */
export interface TuningSummary {
  scenario: string;
  tokens: number;
  /** Eq. 6 on the shots before tuning and with the vectors kept (the last step's, or early stopping's). */
  shotsLoss: [number, number];
  /** Eq. 6 on held-out users of the tuning pool: written instruction vs tuned vectors. */
  heldOut: { users: number; manual: number; tuned: number };
  /** Early stopping (absent without it): its users and the step whose vectors were kept (0 = the written instruction's). */
  validation?: { users: number; keptStep: number };
}

export interface ReportResult {
  format: 'instructue-report/2';
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
  /** Retrieval of the untrained and trained models (absent in older results, or without retrievalUsers). */
  retrieval?: RetrievalRow[];
  /** The preset's recipe keys as run (absent in older results: the tiny preset). */
  recipe?: Record<string, unknown>;
}

/** Keys `report --check` ignores: they legitimately differ between identical reruns. */
export const UNCOMPARED_KEYS = new Set(['command', 'versions', 'wallSeconds']);

/**
 * Mean AUC and KS over the row's scenarios; the mean's SE is √(Σ SE²)/n, which treats the
 * scenarios as independent (they share users, so it is a rough guide).
 */
function meanOf(scores: Record<string, Score>): Score {
  const all = Object.values(scores);
  const mean = (f: (s: Score) => number) => all.reduce((a, s) => a + f(s), 0) / all.length;
  const se = (f: (s: Score) => number | undefined) => Math.sqrt(all.reduce((a, s) => a + (f(s) ?? 0) ** 2, 0)) / all.length;
  return { auc: mean((s) => s.auc), ks: mean((s) => s.ks), aucSE: se((s) => s.aucSE), ksSE: se((s) => s.ksSE) };
}

/** A table row from per-scenario probe results (one probe of all scenarios, or one per scenario). */
export function rowFromProbes(key: string, label: string, probes: ProbeResult[], scenarios: readonly string[]): TableRow {
  const byName = new Map(probes.flatMap((p) => p.scenarios).map((s) => [s.scenario, s]));
  const scores: Record<string, Score> = {};
  for (const name of scenarios) {
    const s = byName.get(name);
    if (!s) throw new Error(`report: no probe result for scenario ${name} in row ${key}`);
    scores[name] = { auc: s.auc, ks: s.ks, aucSE: s.aucSE, ksSE: s.ksSE };
  }
  return { key, label, scores, mean: meanOf(scores) };
}
