import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pcaScores } from '../../src/eval/pca.js';
import { conditionalProbabilities, tsne } from '../../src/eval/tsne.js';
import { Rng } from '../../src/util/rng.js';

/** Two Gaussian clusters in `d` dims (unit variance, centres ±`offset` on every axis), labels 0/1. */
function twoClusters(perCluster: number, d: number, offset: number, seed: string) {
  const rng = new Rng(seed);
  const n = 2 * perCluster;
  const labels = Array.from({ length: n }, (_, i) => (i < perCluster ? 0 : 1));
  const X = Float64Array.from({ length: n * d }, (_, k) => (labels[Math.floor(k / d)] === 0 ? -offset : offset) + rng.normal());
  return { X, labels, n };
}

/** Share of points closer to their own cluster's 2-d centroid than to the other one. */
function nearestCentroidAccuracy(Y: Float64Array, labels: number[]): number {
  const centroid = [0, 1].map((c) => {
    const idx = labels.flatMap((l, i) => (l === c ? [i] : []));
    return [0, 1].map((axis) => idx.reduce((acc, i) => acc + Y[i * 2 + axis], 0) / idx.length);
  });
  const dist2 = (i: number, c: number) => (Y[i * 2] - centroid[c][0]) ** 2 + (Y[i * 2 + 1] - centroid[c][1]) ** 2;
  return labels.filter((l, i) => dist2(i, l) < dist2(i, 1 - l)).length / labels.length;
}

describe('conditionalProbabilities', () => {
  it('gives every row the target perplexity and sums to 1 per row', () => {
    const { X, n } = twoClusters(60, 10, 1, 'perp');
    const P = conditionalProbabilities(X, n, 10, 30);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      let entropy = 0;
      for (let j = 0; j < n; j++) {
        const p = P[i * n + j];
        sum += p;
        if (p > 0) entropy -= p * Math.log(p);
      }
      assert.ok(Math.abs(sum - 1) < 1e-12 && P[i * n + i] === 0, `row ${i} sums to ${sum}`);
      assert.ok(Math.abs(Math.exp(entropy) - 30) < 30 * 1e-4, `row ${i} perplexity ${Math.exp(entropy)}`);
    }
  });

  it('refuses a perplexity not below the number of points', () => {
    assert.throws(() => conditionalProbabilities(new Float64Array(20), 10, 2, 30), /perplexity 30 must be > 1 and below the number of points \(10\)/);
  });
});

describe('tsne', () => {
  const { X, labels, n } = twoClusters(100, 20, 1.5, 'clusters');

  for (const init of ['random', 'pca'] as const) {
    it(`keeps two separated 20-d clusters separated in 2-d (${init} init)`, () => {
      const { Y, kl } = tsne(X, n, 20, { init, iterations: 500 });
      const accuracy = nearestCentroidAccuracy(Y, labels);
      assert.ok(accuracy > 0.95, `nearest-centroid accuracy ${accuracy}`);
      assert.ok(Y.every(Number.isFinite) && kl > 0 && kl < 2, `KL ${kl}`);
    });
  }

  it('finds no structure where there is none (one cluster, arbitrary halves)', () => {
    const { Y } = tsne(X.subarray(0, 100 * 20), 100, 20, { iterations: 500 });
    const halves = Array.from({ length: 100 }, (_, i) => i % 2);
    assert.ok(nearestCentroidAccuracy(Y, halves) < 0.7);
  });

  it('is bit-identical across runs with the same seed, and differs with another seed', () => {
    const small = X.subarray(0, 60 * 20);
    const a = tsne(small, 60, 20, { iterations: 300, perplexity: 10 });
    const b = tsne(small, 60, 20, { iterations: 300, perplexity: 10 });
    const c = tsne(small, 60, 20, { iterations: 300, perplexity: 10, seed: 'other' });
    assert.deepEqual(Buffer.from(a.Y.buffer), Buffer.from(b.Y.buffer));
    assert.notDeepEqual(Buffer.from(a.Y.buffer), Buffer.from(c.Y.buffer));
  });
});

describe('pcaScores', () => {
  it('recovers the dominant direction of data stretched along (0.6, 0.8)', () => {
    const rng = new Rng('pca');
    const n = 500;
    const t = Array.from({ length: n }, () => 5 * rng.normal());
    const X = new Float64Array(n * 2);
    t.forEach((ti, i) => {
      const noise = 0.1 * rng.normal();
      X.set([0.6 * ti - 0.8 * noise + 3, 0.8 * ti + 0.6 * noise - 1], i * 2);
    });
    const scores = pcaScores(X, n, 2, 1);
    // The axis is ±(0.6, 0.8) with its largest entry positive, so score_i ≈ t_i − mean(t).
    const meanT = t.reduce((a, b) => a + b) / n;
    const worst = Math.max(...t.map((ti, i) => Math.abs(scores[i] - (ti - meanT))));
    assert.ok(worst < 0.05, `max deviation ${worst}`);
  });
});
