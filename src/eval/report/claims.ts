/**
 * @module eval/report/claims
 * The paper's comparative claims (§4.2–4.4), each checked on our numbers the same way as on the
 * paper's: in how many of the six scenarios row A's AUC beats row B's, and by how much on
 * average. The paper's AUCs (Tables 2–3, in scenario order Ant Forest → eco_activity_click,
 * Game Top-up, Public Transit, Purchasing Power, Food, Film) are quoted so both counts come from
 * one rule; nothing here is typed in by hand except those quotes.
 */
import type { ClaimResult, TableRow, Verdict } from './result.js';

/**
 * Paper AUCs (%), Table 2 and Table 3, in SCENARIO_NAMES order. Our two non-InstructUE baselines
 * are compared with their nearest paper rows: the untrained backbone with "Qwen2.5-0.5B" (the
 * LLM without InstructUE training), bag-of-events with "U-MLP One4all" (a classic behaviour model).
 */
const PAPER_AUC: Record<string, number[]> = {
  untrained: [83.49, 94.3, 61.85, 79.84, 74.56, 69.85],
  bag_of_events: [96.14, 97.31, 62.76, 83.93, 79.84, 75.26],
  universal: [97.14, 97.92, 70.38, 95.57, 85.25, 85.92],
  manual: [97.1, 98.12, 70.57, 94.5, 83.8, 85.97],
  tuned: [97.26, 98.46, 70.5, 95.69, 85.57, 86.45],
  text_only: [96.88, 98.16, 69.8, 95.5, 84.35, 85.43],
  no_sequences: [94.95, 96.58, 66.39, 94.64, 81.15, 76.24],
  no_tabular: [97.16, 98.18, 69.97, 95.32, 85.12, 85.53],
  no_ntp: [96.67, 97.69, 68.38, 95.31, 84.06, 85.01],
  no_contrastive: [96.28, 98.08, 65.64, 93.63, 82.13, 82.8],
  mean_pooling: [97.11, 98.11, 69.84, 95.41, 84.92, 84.41],
};

interface ClaimSpec {
  id: string;
  statement: string;
  /** Row keys: "a beats b". The full model's ablation row is the universal row. */
  a: string;
  b: string;
  /** Checked only when both rows exist (the second seed's rows; the ablations, which a report may skip). */
  optional?: boolean;
}

const CLAIMS: ClaimSpec[] = [
  { id: 'tuned>manual', statement: 'Instruction tuning beats the written instruction (§4.3)', a: 'tuned', b: 'manual' },
  { id: 'manual>universal', statement: 'A written instruction beats the universal embedding (§4.3; mixed in the paper)', a: 'manual', b: 'universal' },
  { id: 'tuned>universal', statement: 'Instruction tuning beats the universal embedding (§4.2)', a: 'tuned', b: 'universal' },
  { id: 'universal>untrained', statement: 'InstructUE training beats the untrained backbone (paper: vs Qwen2.5-0.5B)', a: 'universal', b: 'untrained' },
  { id: 'universal>encoder_mean', statement: 'InstructUE training beats averaging the frozen encoder\'s record vectors', a: 'universal', b: 'encoder_mean' },
  { id: 'universal>untrained/seed2', statement: 'InstructUE training beats the untrained backbone, second seed', a: 'universal_seed2', b: 'untrained_seed2', optional: true },
  { id: 'universal>encoder_mean/seed2', statement: 'InstructUE training beats averaging the frozen encoder\'s record vectors, second seed', a: 'universal_seed2', b: 'encoder_mean', optional: true },
  { id: 'universal>bag_of_events', statement: 'InstructUE beats a classic behaviour baseline (paper: vs U-MLP One4all)', a: 'universal', b: 'bag_of_events' },
  { id: 'full>no_ntp', statement: 'Next-token prediction helps (§4.4.2)', a: 'universal', b: 'no_ntp', optional: true },
  { id: 'full>no_contrastive', statement: 'The contrastive loss helps (§4.4.2)', a: 'universal', b: 'no_contrastive', optional: true },
  { id: 'no_ntp>no_contrastive', statement: 'Contrastive-only beats NTP-only (§4.4.2)', a: 'no_ntp', b: 'no_contrastive', optional: true },
  { id: 'full>mean_pooling', statement: 'The <USER> token beats mean pooling (§4.4.3)', a: 'universal', b: 'mean_pooling', optional: true },
  { id: 'full>text_only', statement: 'Modality encoders beat plain text (§4.4.1)', a: 'universal', b: 'text_only', optional: true },
  { id: 'full>no_sequences', statement: 'Behaviour sequences help (§4.4.1)', a: 'universal', b: 'no_sequences', optional: true },
  { id: 'full>no_tabular', statement: 'Tabular features help (§4.4.1)', a: 'universal', b: 'no_tabular', optional: true },
];

function winsOf(a: number[], b: number[]): number {
  return a.reduce((n, x, i) => n + (x > b[i]! ? 1 : 0), 0);
}

/** holds: A wins ≥ 4 of 6 and on average; does not hold: A wins ≤ 2 or loses on average by more than it wins; else mixed. */
function verdictOf(wins: number, of: number, meanDelta: number): Verdict {
  if (wins >= Math.ceil((2 * of) / 3) && meanDelta > 0) return 'holds';
  if (wins <= Math.floor(of / 3) || (meanDelta < 0 && wins <= of / 2)) return 'does not hold';
  return 'mixed';
}

/** Checks every claim on the report's rows (main and ablation tables together). */
export function checkClaims(rows: TableRow[], scenarios: readonly string[]): ClaimResult[] {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  return CLAIMS.filter((c) => !c.optional || (byKey.has(c.a) && byKey.has(c.b))).map((c) => {
    const a = byKey.get(c.a);
    const b = byKey.get(c.b);
    if (!a || !b) throw new Error(`report claims: row ${!a ? c.a : c.b} is missing`);
    const ours = (r: TableRow) => scenarios.map((s) => r.scores[s]!.auc);
    const wins = winsOf(ours(a), ours(b));
    const meanDelta = a.mean.auc - b.mean.auc;
    const paperA = PAPER_AUC[c.a];
    const paperB = PAPER_AUC[c.b];
    return {
      id: c.id, statement: c.statement, paperWins: paperA && paperB ? winsOf(paperA, paperB) : null,
      wins, meanDelta, verdict: verdictOf(wins, scenarios.length, meanDelta),
    };
  });
}
