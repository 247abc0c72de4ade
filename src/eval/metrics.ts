/**
 * @module eval/metrics
 * The two scores of the paper's linear probe (§4.1), for a binary label and a real-valued score:
 * - AUC = P(score⁺ > score⁻) with ties counting ½, computed from mid-ranks as
 *   (R⁺ − n⁺(n⁺+1)/2) / (n⁺·n⁻), where R⁺ is the rank sum of the positives.
 * - KS = max over thresholds of |TPR − FPR|, evaluated only between groups of equal scores
 *   (a threshold cannot split tied scores, so evaluating inside a tie would overstate KS).
 * Both run in O(n log n) on a stable sort of the scores.
 */

/** Validated inputs: the scores as float64 and the labels as 0/1 bytes, with class counts. */
interface Checked {
  scores: Float64Array;
  labels: Uint8Array;
  positives: number;
  negatives: number;
}

function check(scores: ArrayLike<number>, labels: ArrayLike<number>, metric: string): Checked {
  if (scores.length !== labels.length) {
    throw new RangeError(`${metric}: ${scores.length} scores but ${labels.length} labels; pass one label per score`);
  }
  const s = Float64Array.from(scores);
  const y = new Uint8Array(labels.length);
  let positives = 0;
  for (let i = 0; i < s.length; i++) {
    if (Number.isNaN(s[i])) throw new RangeError(`${metric}: score ${i} is NaN; scores must be numbers`);
    const label = labels[i];
    if (label !== 0 && label !== 1) throw new RangeError(`${metric}: label ${i} is ${label}; labels must be 0 or 1`);
    y[i] = label;
    positives += label;
  }
  const negatives = s.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new RangeError(
      `${metric} needs both classes, but all ${s.length} labels are ${positives === 0 ? 0 : 1}; ` +
        'check the scenario\'s labels or evaluate on more users',
    );
  }
  return { scores: s, labels: y, positives, negatives };
}

/** Indices of `scores` in ascending score order (ties keep index order, so the result is deterministic). */
function ascendingOrder(scores: Float64Array): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[a] - scores[b] || a - b);
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random
 * negative, ties counting ½ (the Mann–Whitney U statistic over n⁺·n⁻).
 * @throws RangeError when lengths differ, a label is not 0/1, a score is NaN, or only one class is present.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const { scores: s, labels: y, positives, negatives } = check(scores, labels, 'AUC');
  const order = ascendingOrder(s);
  let positiveRankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && s[order[end]] === s[order[start]]) end++;
    // Ranks start..end-1 (1-based: start+1..end) share the mid-rank (start+1+end)/2.
    const midRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (y[order[k]] === 1) positiveRankSum += midRank;
    start = end;
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Kolmogorov–Smirnov statistic: max over thresholds t of |TPR(t) − FPR(t)|, where a user is
 * predicted positive when score ≥ t; thresholds sit only at distinct-score boundaries.
 * @throws RangeError on the same inputs as {@link auc}.
 */
export function ks(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const { scores: s, labels: y, positives, negatives } = check(scores, labels, 'KS');
  const order = ascendingOrder(s);
  let truePositives = 0;
  let falsePositives = 0;
  // The gap is tracked as the integer |TP·n⁻ − FP·n⁺| so the only rounding is the final division.
  let best = 0;
  // Walk from the highest score down, lowering the threshold one tie group at a time.
  for (let end = order.length; end > 0; ) {
    let start = end - 1;
    while (start > 0 && s[order[start - 1]] === s[order[end - 1]]) start--;
    for (let k = start; k < end; k++) {
      if (y[order[k]] === 1) truePositives++;
      else falsePositives++;
    }
    best = Math.max(best, Math.abs(truePositives * negatives - falsePositives * positives));
    end = start;
  }
  return best / (positives * negatives);
}
