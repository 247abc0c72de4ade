/**
 * @module eval/probe
 * The linear probe of the paper (§4.1): per scenario, fit an L2 logistic regression on the
 * frozen embeddings of one half of the users and report AUC and KS on the other half, each with
 * a bootstrap standard error and 95 % interval (src/eval/bootstrap.ts).
 *
 * The halves come from a sha256 hash of the user id (with a seed), not from row order, so a
 * user lands in the same half in every run, every embedding file and every row order, and all
 * rows of one user (if an id repeats) stay on one side: no leakage between fit and evaluation.
 * With `folds: K` the probe is a stratified K-fold cross-validation instead: within each class,
 * users ordered by the same hash go to fold rank mod K; every fold is evaluated by a model fit on
 * the others, and AUC/KS are the fold means with the fold-to-fold standard error (sd/√K).
 */
import { createHash } from 'node:crypto';
import { bootstrapAucKs, DEFAULT_REPLICATES } from './bootstrap.js';
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
  /** AUC on the evaluation half, ranking by the logistic decision value (k-fold: the mean over folds). */
  auc: number;
  ks: number;
  /** Standard errors: bootstrap of the evaluation half (k-fold: sd over folds / √K); 0 when bars are off. */
  aucSE: number;
  ksSE: number;
  /** 95 % intervals: bootstrap percentiles (k-fold: mean ± 1.96·SE). */
  aucCI95: [number, number];
  ksCI95: [number, number];
  /** Labelled rows in the fit and evaluation halves (k-fold: rows fitted per fold on average, rows evaluated in all). */
  nFit: number;
  nEval: number;
  /** Positive labels among the nEval evaluation rows. */
  positives: number;
  /** k-fold only: AUC of each fold. */
  foldAuc?: number[];
}

/** The whole probe: plain JSON (the `--json` output of `instructue probe`). */
export interface ProbeResult {
  seed: string;
  l2: number;
  /** hash = 50/50 split by user-id hash; folds = stratified K-fold cross-validation. */
  split: 'hash' | 'folds';
  folds: number | null;
  /** Bootstrap replicates behind the bars (hash split; 0 = no bars). */
  bootstrap: number;
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
  /** Stratified K-fold cross-validation instead of the hash split (K ≥ 2). */
  folds?: number;
  /** Bootstrap replicates for the bars of the hash split (default 1000; 0 = none). */
  bootstrap?: number;
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
 * Rows of each fold of a stratified K-fold split of the labelled `rows`: within each class, rows
 * ordered by sha256(seed, user id) go to fold (rank mod K), so folds keep the base rate and do
 * not depend on row order.
 */
export function stratifiedFolds(rows: number[], labels: ArrayLike<number>, userIds: string[], k: number, seed: string = DEFAULT_SPLIT_SEED): number[][] {
  const folds: number[][] = Array.from({ length: k }, () => []);
  for (const cls of [0, 1]) {
    const members = rows.filter((r) => labels[r] === cls).map((r) => ({ r, key: createHash('sha256').update(seed).update('\u0000').update(userIds[r]!).digest('hex') }));
    members.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.r - b.r));
    members.forEach((m, rank) => folds[rank % k]!.push(m.r));
  }
  return folds.map((f) => f.sort((a, b) => a - b));
}

/**
 * Runs the probe for every scenario in `labels` (in its key order).
 * @param embeddings n×d row-major, row i belongs to `userIds[i]`.
 * @param labels per scenario, one value per row: 0, 1, or NaN for "not labelled".
 * @throws RangeError on shape mismatches, bad labels, or a scenario with one class on a half (or in a fold).
 */
export function runProbe(
  embeddings: Float32Array, n: number, d: number, userIds: string[],
  labels: Record<string, ArrayLike<number>>, opts: ProbeOptions = {},
): ProbeResult {
  if (embeddings.length !== n * d) throw new RangeError(`probe: embeddings hold ${embeddings.length} values, expected n·d = ${n}·${d}`);
  if (userIds.length !== n) throw new RangeError(`probe: ${userIds.length} user ids for ${n} embedding rows`);
  const seed = opts.seed ?? DEFAULT_SPLIT_SEED;
  const l2 = opts.l2 ?? 1;
  const folds = opts.folds ?? 0;
  if (folds !== 0 && !(Number.isInteger(folds) && folds >= 2)) throw new RangeError(`probe: folds must be an integer ≥ 2; got ${folds}`);
  const replicates = opts.bootstrap ?? DEFAULT_REPLICATES;
  const split = splitByUserHash(userIds, seed);
  const fitScore = (fitRows: number[], evalRows: number[], y: ArrayLike<number>) => {
    const model = fitLogistic(gatherRows(embeddings, d, fitRows), fitRows.length, d, fitRows.map((r) => y[r]!), { l2, maxIter: opts.maxIter });
    // Rank by the decision value, not the probability: probabilities round to 1.0 and would tie.
    return decisionLogistic(model, gatherRows(embeddings, d, evalRows), evalRows.length, d);
  };
  const scenarios = Object.entries(labels).map(([scenario, y]): ScenarioResult => {
    if (y.length !== n) throw new RangeError(`probe: scenario "${scenario}" has ${y.length} labels for ${n} rows`);
    if (folds > 0) return kFold(scenario, y, folds);
    const fitRows = labelledRows(split.fit, y, scenario);
    const evalRows = labelledRows(split.evaluate, y, scenario);
    requireBothClasses(fitRows, y, scenario, 'fit');
    requireBothClasses(evalRows, y, scenario, 'evaluation');
    const scores = fitScore(fitRows, evalRows, y);
    const evalLabels = evalRows.map((r) => y[r]!);
    const bars = replicates > 0
      ? bootstrapAucKs(scores, evalLabels, { replicates, seed: `${seed}/${scenario}` })
      : { aucSE: 0, ksSE: 0, aucCI95: [NaN, NaN] as [number, number], ksCI95: [NaN, NaN] as [number, number] };
    return {
      scenario,
      auc: auc(scores, evalLabels),
      ks: ks(scores, evalLabels),
      ...bars,
      nFit: fitRows.length,
      nEval: evalRows.length,
      positives: evalLabels.reduce((a, b) => a + b, 0),
    };
  });

  function kFold(scenario: string, y: ArrayLike<number>, k: number): ScenarioResult {
    const rows = labelledRows(Array.from({ length: n }, (_, i) => i), y, scenario);
    const parts = stratifiedFolds(rows, y, userIds, k, seed);
    const aucs: number[] = [];
    const kss: number[] = [];
    let fitted = 0;
    parts.forEach((test, f) => {
      const train = parts.flatMap((p, g) => (g === f ? [] : p));
      requireBothClasses(train, y, scenario, `fit part of fold ${f + 1}/${k}`);
      requireBothClasses(test, y, scenario, `fold ${f + 1}/${k}`);
      const scores = fitScore(train, test, y);
      const yt = test.map((r) => y[r]!);
      aucs.push(auc(scores, yt));
      kss.push(ks(scores, yt));
      fitted += train.length;
    });
    const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
    const se = (x: number[]) => Math.sqrt(x.reduce((a, v) => a + (v - mean(x)) ** 2, 0) / (x.length - 1) / x.length);
    const [a, sa, c, sc] = [mean(aucs), se(aucs), mean(kss), se(kss)];
    return {
      scenario, auc: a, ks: c, aucSE: sa, ksSE: sc, aucCI95: [a - 1.96 * sa, a + 1.96 * sa], ksCI95: [c - 1.96 * sc, c + 1.96 * sc],
      nFit: Math.round(fitted / k), nEval: rows.length, positives: rows.reduce((acc, r) => acc + y[r]!, 0), foldAuc: aucs,
    };
  }
  return { seed, l2, split: folds > 0 ? 'folds' : 'hash', folds: folds > 0 ? folds : null, bootstrap: folds > 0 ? 0 : replicates, users: n, dim: d, scenarios };
}

const bar = (x: number, se: number, digits: number) => (se > 0 ? `${x.toFixed(digits)} ± ${se.toFixed(digits)}` : x.toFixed(digits));

/** How a probe split its users, for table captions. */
export function describeSplit(result: ProbeResult): string {
  const bars = result.split === 'folds'
    ? `stratified ${result.folds}-fold cross-validation by sha256 of the user id (seed "${result.seed}"); AUC and KS are fold means ± their standard error`
    : `50/50 split by sha256 of the user id (seed "${result.seed}")${result.bootstrap > 0 ? `; ± is the standard error from ${result.bootstrap} stratified bootstrap replicates of the evaluation half` : ''}`;
  return `Logistic regression (L2 = ${result.l2} on standardised features, i.e. sklearn C = ${1 / result.l2}); ${bars}.`;
}

/** A markdown table of a probe: one row per scenario, AUC and KS (± SE) to 4 decimals, then the sizes. */
export function formatProbeMarkdown(result: ProbeResult, title = 'Linear probe'): string {
  const rows = result.scenarios.map(
    (s) => `| ${s.scenario} | ${bar(s.auc, s.aucSE, 4)} | ${bar(s.ks, s.ksSE, 4)} | ${s.nFit} | ${s.nEval} | ${s.positives} |`,
  );
  return [
    `### ${title}`,
    '',
    '| scenario | AUC | KS | fit users | eval users | eval positives |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `${describeSplit(result)} ${result.users} users × ${result.dim} dims.`,
    '',
  ].join('\n');
}

/** Two probes of the same users and split side by side (embeddings vs a baseline). */
export function formatComparisonMarkdown(a: ProbeResult, b: ProbeResult, names: [string, string], title = 'Linear probe'): string {
  const byName = new Map(b.scenarios.map((s) => [s.scenario, s]));
  const rows = a.scenarios.map((s) => {
    const t = byName.get(s.scenario)!;
    return `| ${s.scenario} | ${bar(s.auc, s.aucSE, 4)} | ${bar(t.auc, t.aucSE, 4)} | ${(s.auc - t.auc >= 0 ? '+' : '') + (s.auc - t.auc).toFixed(4)} | ${bar(s.ks, s.ksSE, 4)} | ${bar(t.ks, t.ksSE, 4)} | ${s.nEval} | ${s.positives} |`;
  });
  return [
    `### ${title}`,
    '',
    `| scenario | AUC ${names[0]} | AUC ${names[1]} | ΔAUC | KS ${names[0]} | KS ${names[1]} | eval users | eval positives |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `${describeSplit(a)} ${names[0]}: ${a.users} users × ${a.dim} dims; ${names[1]}: ${b.users} users × ${b.dim} features, same users and split.`,
    '',
  ].join('\n');
}
