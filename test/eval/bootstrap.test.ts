import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootstrapAucKs, weightedAucKs } from '../../src/eval/bootstrap.js';
import { auc, ks } from '../../src/eval/metrics.js';
import { Rng } from '../../src/util/rng.js';

describe('bootstrap error bars', () => {
  const rng = new Rng('bootstrap-test');
  // Scores with many ties (rounded), labels correlated with them.
  const n = 400;
  const scores = Float64Array.from({ length: n }, () => Math.round(rng.normal() * 4) / 4);
  const labels = Float64Array.from(scores, (s) => (s + rng.normal() > 0 ? 1 : 0));

  it('the weighted walk with unit weights is exactly metrics.ts AUC and KS', () => {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
    const ends: number[] = [];
    for (let i = 0; i < n; ) {
      let j = i + 1;
      while (j < n && scores[order[j]!] === scores[order[i]!]) j++;
      ends.push(j);
      i = j;
    }
    const pos = labels.reduce((a, b) => a + b, 0);
    const [a, k] = weightedAucKs(order, ends, new Float64Array(n).fill(1), labels, pos, n - pos);
    assert.ok(Math.abs(a - auc(scores, labels)) < 1e-12, `${a} vs ${auc(scores, labels)}`);
    assert.ok(Math.abs(k - ks(scores, labels)) < 1e-12, `${k} vs ${ks(scores, labels)}`);
  });

  it('is seeded, shrinks like 1/√n, and its interval brackets the estimate', () => {
    const a = bootstrapAucKs(scores, labels, { seed: 'x' });
    assert.deepEqual(bootstrapAucKs(scores, labels, { seed: 'x' }), a);
    assert.notDeepEqual(bootstrapAucKs(scores, labels, { seed: 'y' }), a);
    const four = (x: Float64Array) => Float64Array.from({ length: 4 * n }, (_, i) => x[i % n]!);
    const big = bootstrapAucKs(four(scores), four(labels), { seed: 'x' });
    assert.ok(Math.abs(a.aucSE / big.aucSE - 2) < 0.3, `SE ratio ${a.aucSE / big.aucSE}`);
    const point = auc(scores, labels);
    assert.ok(a.aucCI95[0] < point && point < a.aucCI95[1]);
  });
});
