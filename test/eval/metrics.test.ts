import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auc, ks } from '../../src/eval/metrics.js';

/** Definition of AUC by brute force over all positive/negative pairs (an independent reference). */
function pairwiseAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    for (let j = 0; j < scores.length; j++) {
      if (labels[i] !== 1 || labels[j] !== 0) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

/** Definition of KS by brute force: every threshold "score ≥ t" for t in the distinct scores. */
function thresholdKs(scores: number[], labels: number[]): number {
  const p = labels.filter((l) => l === 1).length;
  const n = labels.length - p;
  let best = 0;
  for (const t of new Set(scores)) {
    const tp = scores.filter((s, i) => s >= t && labels[i] === 1).length;
    const fp = scores.filter((s, i) => s >= t && labels[i] === 0).length;
    best = Math.max(best, Math.abs(tp / p - fp / n));
  }
  return best;
}

describe('auc', () => {
  it('matches the hand computation without ties', () => {
    // positives 0.35, 0.8; negatives 0.1, 0.4.
    // pairs: 0.35>0.1 (1), 0.35<0.4 (0), 0.8>0.1 (1), 0.8>0.4 (1) → 3/4.
    // mid-ranks: 0.1→1, 0.35→2, 0.4→3, 0.8→4; R⁺ = 2+4 = 6; (6 − 2·3/2)/(2·2) = 3/4.
    assert.equal(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  });

  it('counts ties as one half (hand computation with mid-ranks)', () => {
    // scores 1 2 2 2 3 3 / labels 0 0 1 1 0 1: positives {2, 2, 3}, negatives {1, 2, 3}.
    // pairs: each positive 2 vs (1, 2, 3) = 1 + ½ + 0 = 1.5, twice → 3; positive 3 vs (1, 2, 3) = 1 + 1 + ½ = 2.5.
    // total 5.5 of 9 pairs. Mid-ranks: 1→1; the three 2s share (2+3+4)/3 = 3; the two 3s share 5.5.
    // R⁺ = 3 + 3 + 5.5 = 11.5; (11.5 − 3·4/2)/(3·3) = 5.5/9.
    assert.equal(auc([1, 2, 2, 2, 3, 3], [0, 0, 1, 1, 0, 1]), 5.5 / 9);
  });

  it('is ½ when every score is tied, 1 when perfect and 0 when reversed', () => {
    assert.deepEqual(
      [auc([5, 5, 5, 5], [0, 1, 0, 1]), auc([1, 2, 3, 4], [0, 0, 1, 1]), auc([4, 3, 2, 1], [0, 0, 1, 1])],
      [0.5, 1, 0],
    );
  });

  it('equals the pairwise definition on a tie-heavy random set', () => {
    let state = 12345;
    const next = () => (state = (state * 1103515245 + 12345) % 2147483648);
    const scores = Array.from({ length: 300 }, () => next() % 17);
    const labels = Array.from({ length: 300 }, (_, i) => (next() % 100 < 30 + scores[i] * 2 ? 1 : 0));
    const got = auc(Float32Array.from(scores), Uint8Array.from(labels));
    assert.ok(Math.abs(got - pairwiseAuc(scores, labels)) < 1e-12, `${got} vs ${pairwiseAuc(scores, labels)}`);
  });

  it('rejects one-class labels, non-binary labels, NaN scores and length mismatch', () => {
    assert.throws(() => auc([0.1, 0.2, 0.3], [1, 1, 1]), /AUC needs both classes, but all 3 labels are 1/);
    assert.throws(() => auc([0.1, 0.2], [0, 2]), /label 1 is 2; labels must be 0 or 1/);
    assert.throws(() => auc([0.1, NaN], [0, 1]), /score 1 is NaN/);
    assert.throws(() => auc([0.1, 0.2, 0.3], [0, 1]), /3 scores but 2 labels/);
  });
});

describe('ks', () => {
  it('matches the hand computation without ties', () => {
    // descending: 0.8(+) 0.4(−) 0.35(+) 0.1(−); n⁺ = n⁻ = 2.
    // after 0.8: TPR ½, FPR 0 → ½; after 0.4: ½, ½ → 0; after 0.35: 1, ½ → ½; after 0.1: 1, 1 → 0.
    assert.equal(ks([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.5);
  });

  it('evaluates only between tie groups (hand computation)', () => {
    // scores 1 2 2 2 3 3 / labels 0 0 1 1 0 1; n⁺ = n⁻ = 3. Groups, highest first:
    // {3, 3}: +1 pos, +1 neg → TPR ⅓, FPR ⅓ → 0
    // {2, 2, 2}: +2 pos, +1 neg → TPR 1, FPR ⅔ → ⅓
    // {1}: +1 neg → 1, 1 → 0.            KS = ⅓.
    // A per-sample sweep that splits ties (positives first) would reach TPR 1, FPR ⅓ inside the
    // group of 2s and wrongly report ⅔.
    assert.equal(ks([1, 2, 2, 2, 3, 3], [0, 0, 1, 1, 0, 1]), 1 / 3);
  });

  it('is 0 when every score is tied and 1 when perfectly separated either way', () => {
    assert.deepEqual(
      [ks([5, 5, 5, 5], [0, 1, 0, 1]), ks([1, 2, 3, 4], [0, 0, 1, 1]), ks([4, 3, 2, 1], [0, 0, 1, 1])],
      [0, 1, 1],
    );
  });

  it('equals the all-thresholds definition on a tie-heavy random set', () => {
    let state = 777;
    const next = () => (state = (state * 1103515245 + 12345) % 2147483648);
    const scores = Array.from({ length: 300 }, () => next() % 11);
    const labels = Array.from({ length: 300 }, (_, i) => (next() % 100 < 20 + scores[i] * 5 ? 1 : 0));
    assert.ok(Math.abs(ks(scores, labels) - thresholdKs(scores, labels)) < 1e-12);
  });

  it('rejects one-class labels', () => {
    assert.throws(() => ks([0.1, 0.2], [0, 0]), /KS needs both classes, but all 2 labels are 0/);
  });
});
