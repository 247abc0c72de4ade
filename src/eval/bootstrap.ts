/**
 * @module eval/bootstrap
 * Error bars for the probe's AUC and KS: a stratified bootstrap of the evaluated users (each
 * replicate draws n⁺ positives and n⁻ negatives with replacement, so every replicate has both
 * classes and the base rate of the data), with the fitted model held fixed — the spread a
 * different draw of evaluation users would give. Reported as the replicates' standard deviation
 * (the standard error) and their 2.5 / 97.5 % percentiles.
 *
 * A replicate is a vector of multiplicities over the users, so AUC and KS are computed in one
 * O(n) walk over the scores sorted once (tie groups handled as in metrics.ts: ties count ½ for
 * AUC, thresholds only between tie groups for KS). Seeded: the same inputs give the same bars.
 */
import { Rng } from '../util/rng.js';

export interface BootstrapOptions {
  /** Replicates (default 1000). */
  replicates?: number;
  seed?: string;
}

export interface MetricBars {
  aucSE: number;
  ksSE: number;
  aucCI95: [number, number];
  ksCI95: [number, number];
}

export const DEFAULT_REPLICATES = 1000;

/** Stratified-bootstrap standard errors and 95 % intervals of AUC and KS of `scores` for 0/1 `labels`. */
export function bootstrapAucKs(scores: ArrayLike<number>, labels: ArrayLike<number>, opts: BootstrapOptions = {}): MetricBars {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
  // Tie groups in ascending score order: [start, end) ranges of `order`.
  const groupEnd: number[] = [];
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && scores[order[j]!] === scores[order[i]!]) j++;
    groupEnd.push(j);
    i = j;
  }
  const positives = order.filter((i) => labels[i] === 1);
  const negatives = order.filter((i) => labels[i] !== 1);
  const replicates = opts.replicates ?? DEFAULT_REPLICATES;
  const rng = new Rng('probe-bootstrap', opts.seed ?? '');
  const weight = new Float64Array(n);
  const aucs = new Float64Array(replicates);
  const kss = new Float64Array(replicates);
  for (let b = 0; b < replicates; b++) {
    weight.fill(0);
    for (let k = 0; k < positives.length; k++) weight[positives[rng.int(positives.length)]!]++;
    for (let k = 0; k < negatives.length; k++) weight[negatives[rng.int(negatives.length)]!]++;
    const [auc, ks] = weightedAucKs(order, groupEnd, weight, labels, positives.length, negatives.length);
    aucs[b] = auc;
    kss[b] = ks;
  }
  return { aucSE: sd(aucs), ksSE: sd(kss), aucCI95: percentiles(aucs), ksCI95: percentiles(kss) };
}

/** AUC and KS with per-user multiplicities `w` (Σw over each class = n⁺ and n⁻); exported for tests. */
export function weightedAucKs(order: number[], groupEnd: number[], w: Float64Array, labels: ArrayLike<number>, nPos: number, nNeg: number): [number, number] {
  let negBelow = 0;
  let aucSum = 0;
  let tpr = 0;
  let fpr = 0;
  let ks = 0;
  let start = 0;
  // Ascending: AUC counts negatives below each positive; KS tracks the CDF gap at group ends.
  for (const end of groupEnd) {
    let gp = 0;
    let gn = 0;
    for (let k = start; k < end; k++) {
      const i = order[k]!;
      if (labels[i] === 1) gp += w[i]!;
      else gn += w[i]!;
    }
    aucSum += gp * (negBelow + gn / 2);
    negBelow += gn;
    tpr += gp / nPos;
    fpr += gn / nNeg;
    ks = Math.max(ks, Math.abs(fpr - tpr));
    start = end;
  }
  return [aucSum / (nPos * nNeg), ks];
}

function sd(x: Float64Array): number {
  if (x.length < 2) return 0;
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let ss = 0;
  for (const v of x) ss += (v - mean) * (v - mean);
  return Math.sqrt(ss / (x.length - 1));
}

function percentiles(x: Float64Array): [number, number] {
  const s = Float64Array.from(x).sort();
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))]!;
  return [at(0.025), at(0.975)];
}
