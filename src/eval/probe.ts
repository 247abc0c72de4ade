/**
 * @module eval/probe
 * The linear probe of the paper (§4.1): per scenario, fit an L2 logistic regression on the
 * frozen embeddings of one half of the users and report AUC and KS on the other half.
 *
 * The halves come from a sha256 hash of the user id (with a seed), not from row order, so a
 * user lands in the same half in every run, every embedding file and every row order, and all
 * rows of one user (if an id repeats) stay on one side: no leakage between fit and evaluation.
 */
import { createHash } from 'node:crypto';
import { auc, ks } from './metrics.js';
import { decisionLogistic, fitLogistic } from './logistic-regression.js';

/** The split seed every probe uses unless told otherwise, so tables are comparable. */
export const DEFAULT_SPLIT_SEED = 'instructue-probe';

/** Row indices (ascending) of the fit and evaluation halves. */
export interface UserSplit {
  fit: number[];
  evaluate: number[];
}

/** One scenario's probe result. */
export interface ScenarioResult {
  scenario: string;
  /** AUC on the evaluation half, ranking by the logistic decision value. */
  auc: number;
  ks: number;
  /** Labelled rows in the fit and evaluation halves. */
  nFit: number;
  nEval: number;
  /** Positive labels among the nEval evaluation rows. */
  positives: number;
}

/** The whole probe: plain JSON (the `--json` output of `instructue probe`). */
export interface ProbeResult {
  seed: string;
  l2: number;
  /** Rows (users) and embedding width. */
  users: number;
  dim: number;
  scenarios: ScenarioResult[];
}

export interface ProbeOptions {
  /** Seed of the user split (default {@link DEFAULT_SPLIT_SEED}). */
  seed?: string;
  /** L2 strength of the logistic regression (= 1/C; default 1, sklearn's C = 1). */
  l2?: number;
  /** Newton iteration cap (default 100). */
  maxIter?: number;
}

/**
 * Splits rows 50/50 (in expectation) by sha256(seed, user id): the first digest byte < 128 puts
 * the user in the fit half. Deterministic and independent of row order.
 */
export function splitByUserHash(userIds: string[], seed: string = DEFAULT_SPLIT_SEED): UserSplit {
  const split: UserSplit = { fit: [], evaluate: [] };
  userIds.forEach((id, row) => {
    const firstByte = createHash('sha256').update(seed).update('\u0000').update(id).digest()[0];
    (firstByte < 128 ? split.fit : split.evaluate).push(row);
  });
  return split;
}

/** The rows of `half` that carry a 0/1 label (NaN marks a user without a label). */
function labelledRows(half: number[], labels: ArrayLike<number>, scenario: string): number[] {
  return half.filter((row) => {
    const v = labels[row];
    if (v === 0 || v === 1) return true;
    if (Number.isNaN(v)) return false;
    throw new RangeError(`probe: scenario "${scenario}" row ${row} has label ${v}; labels must be 0, 1 or NaN (missing)`);
  });
}

function requireBothClasses(rows: number[], labels: ArrayLike<number>, scenario: string, half: string): void {
  const positives = rows.reduce((acc, row) => acc + labels[row], 0);
  if (positives === 0 || positives === rows.length) {
    throw new RangeError(
      `probe: scenario "${scenario}" has ${rows.length} labelled users in the ${half} half, ` +
        `${positives === 0 ? 'none' : 'all'} of them positive; a probe needs both classes on both halves (label more users)`,
    );
  }
}

/** Rows `rows` of the n×d embeddings as a float64 matrix. */
function gatherRows(embeddings: Float32Array, d: number, rows: number[]): Float64Array {
  const out = new Float64Array(rows.length * d);
  rows.forEach((row, i) => {
    for (let j = 0; j < d; j++) out[i * d + j] = embeddings[row * d + j];
  });
  return out;
}

/**
 * Runs the probe for every scenario in `labels` (in its key order).
 * @param embeddings n×d row-major, row i belongs to `userIds[i]`.
 * @param labels per scenario, one value per row: 0, 1, or NaN for "not labelled".
 * @throws RangeError on shape mismatches, bad labels, or a scenario with one class on a half.
 */
export function runProbe(
  embeddings: Float32Array, n: number, d: number, userIds: string[],
  labels: Record<string, ArrayLike<number>>, opts: ProbeOptions = {},
): ProbeResult {
  if (embeddings.length !== n * d) throw new RangeError(`probe: embeddings hold ${embeddings.length} values, expected n·d = ${n}·${d}`);
  if (userIds.length !== n) throw new RangeError(`probe: ${userIds.length} user ids for ${n} embedding rows`);
  const seed = opts.seed ?? DEFAULT_SPLIT_SEED;
  const l2 = opts.l2 ?? 1;
  const split = splitByUserHash(userIds, seed);
  const scenarios = Object.entries(labels).map(([scenario, y]): ScenarioResult => {
    if (y.length !== n) throw new RangeError(`probe: scenario "${scenario}" has ${y.length} labels for ${n} rows`);
    const fitRows = labelledRows(split.fit, y, scenario);
    const evalRows = labelledRows(split.evaluate, y, scenario);
    requireBothClasses(fitRows, y, scenario, 'fit');
    requireBothClasses(evalRows, y, scenario, 'evaluation');
    const model = fitLogistic(gatherRows(embeddings, d, fitRows), fitRows.length, d, fitRows.map((r) => y[r]), { l2, maxIter: opts.maxIter });
    // Rank by the decision value, not the probability: probabilities round to 1.0 and would tie.
    const scores = decisionLogistic(model, gatherRows(embeddings, d, evalRows), evalRows.length, d);
    const evalLabels = evalRows.map((r) => y[r]);
    return {
      scenario,
      auc: auc(scores, evalLabels),
      ks: ks(scores, evalLabels),
      nFit: fitRows.length,
      nEval: evalRows.length,
      positives: evalLabels.reduce((a, b) => a + b, 0),
    };
  });
  return { seed, l2, users: n, dim: d, scenarios };
}

/** A markdown table of a probe: one row per scenario, AUC and KS to 4 decimals, then the sizes. */
export function formatProbeMarkdown(result: ProbeResult, title = 'Linear probe'): string {
  const rows = result.scenarios.map(
    (s) => `| ${s.scenario} | ${s.auc.toFixed(4)} | ${s.ks.toFixed(4)} | ${s.nFit} | ${s.nEval} | ${s.positives} |`,
  );
  return [
    `### ${title}`,
    '',
    '| scenario | AUC | KS | fit users | eval users | eval positives |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Logistic regression (L2 = ${result.l2} on standardised features, i.e. sklearn C = ${1 / result.l2}) on ` +
      `${result.users} users × ${result.dim} dims; 50/50 split by sha256 of the user id (seed "${result.seed}").`,
    '',
  ].join('\n');
}
