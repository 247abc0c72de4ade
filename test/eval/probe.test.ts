import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProbeMarkdown, runProbe, splitByUserHash, stratifiedFolds, type ProbeResult } from '../../src/eval/probe.js';
import { Rng } from '../../src/util/rng.js';

/** n Gaussian embeddings (d dims) with user ids u0…u(n−1). */
function gaussianUsers(n: number, d: number, seed: string) {
  const rng = new Rng(seed);
  const embeddings = Float32Array.from({ length: n * d }, () => rng.normal());
  const userIds = Array.from({ length: n }, (_, i) => `u${i}`);
  return { embeddings, userIds, rng };
}

describe('splitByUserHash', () => {
  it('puts each user on the same side whatever the order, about half each way', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
    const side = (list: string[]) => {
      const { fit } = splitByUserHash(list);
      const fitIds = new Set(fit.map((r) => list[r]));
      return new Map(list.map((id) => [id, fitIds.has(id)]));
    };
    const forward = side(ids);
    assert.deepEqual(side([...ids].reverse()), forward);
    const fitShare = [...forward.values()].filter(Boolean).length / ids.length;
    assert.ok(Math.abs(fitShare - 0.5) < 0.02, `fit share ${fitShare}`); // binomial sd 0.005
  });

  it('returns every row exactly once, ascending, and depends on the seed', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
    const a = splitByUserHash(ids, 's1');
    assert.deepEqual([...a.fit, ...a.evaluate].sort((x, y) => x - y), ids.map((_, i) => i));
    assert.deepEqual(a.fit, [...a.fit].sort((x, y) => x - y));
    assert.deepEqual(splitByUserHash(ids, 's1'), a);
    assert.notDeepEqual(splitByUserHash(ids, 's2').fit, a.fit);
  });
});

describe('runProbe', () => {
  const n = 4000;
  const d = 16;
  const { embeddings, userIds, rng } = gaussianUsers(n, d, 'probe');
  // separable: the sign of a fixed direction; random: coin flips independent of the embedding;
  // partial: separable labels on every third user only, the rest missing (NaN).
  const direction = Array.from({ length: d }, (_, j) => (j % 3) - 1 + 0.5);
  const separable = Float64Array.from({ length: n }, (_, i) => {
    let z = 0;
    for (let j = 0; j < d; j++) z += direction[j] * embeddings[i * d + j];
    return z > 0 ? 1 : 0;
  });
  const random = Float64Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
  const partial = separable.map((v, i) => (i % 3 === 0 ? v : NaN));
  const result = runProbe(embeddings, n, d, userIds, { separable, random, partial });

  it('gives AUC > 0.99 on linearly separable labels and 0.5 ± 0.05 on random labels', () => {
    const [sep, rand, part] = result.scenarios;
    assert.deepEqual(result.scenarios.map((s) => s.scenario), ['separable', 'random', 'partial']);
    assert.ok(sep.auc > 0.99 && sep.ks > 0.9, `separable AUC ${sep.auc}, KS ${sep.ks}`);
    assert.ok(Math.abs(rand.auc - 0.5) < 0.05, `random AUC ${rand.auc}`);
    assert.ok(part.auc > 0.98, `partial AUC ${part.auc}`);
  });

  it('counts the halves and positives of each scenario', () => {
    const split = splitByUserHash(userIds);
    const count = (rows: number[], y: Float64Array) => rows.filter((r) => !Number.isNaN(y[r])).length;
    const positives = (rows: number[], y: Float64Array) => rows.filter((r) => y[r] === 1).length;
    assert.deepEqual(
      result.scenarios.map((s) => [s.nFit, s.nEval, s.positives]),
      [separable, random, partial].map((y) => [count(split.fit, y), count(split.evaluate, y), positives(split.evaluate, y)]),
    );
    assert.deepEqual([result.users, result.dim, result.l2, result.seed], [n, d, 1, 'instructue-probe']);
  });

  it('is deterministic, and row order only changes float rounding', () => {
    assert.deepEqual(runProbe(embeddings, n, d, userIds, { separable, random, partial }), result);
    const perm = Array.from({ length: n }, (_, i) => n - 1 - i);
    const permuted = new Float32Array(n * d);
    perm.forEach((src, dst) => permuted.set(embeddings.subarray(src * d, (src + 1) * d), dst * d));
    const again = runProbe(permuted, n, d, perm.map((i) => userIds[i]), {
      separable: perm.map((i) => separable[i]),
      random: perm.map((i) => random[i]),
      partial: perm.map((i) => partial[i]),
    });
    again.scenarios.forEach((s, k) => {
      assert.ok(Math.abs(s.auc - result.scenarios[k].auc) < 1e-9 && Math.abs(s.ks - result.scenarios[k].ks) < 1e-9);
    });
  });

  it('refuses a scenario with a single class on one half, naming it', () => {
    const allZero = new Float64Array(n);
    allZero[0] = 1; // one positive: it falls on one half only
    assert.throws(() => runProbe(embeddings, n, d, userIds, { rare: allZero }), /scenario "rare" has \d+ labelled users in the (fit|evaluation) half, none of them positive/);
    assert.throws(() => runProbe(embeddings, n, d, userIds.slice(1), { separable }), /3999 user ids for 4000 embedding rows/);
  });
});

describe('runProbe error bars and k-fold', () => {
  const n = 1200;
  const d = 8;
  const { embeddings, userIds, rng } = gaussianUsers(n, d, 'probe-bars');
  // A noisy linear label: AUC around 0.8.
  const y = Float64Array.from({ length: n }, (_, i) => (embeddings[i * d]! + 0.8 * rng.normal() > 0 ? 1 : 0));

  it('gives bootstrap SEs near the Hanley–McNeil formula and 95 % intervals around the AUC', () => {
    const [s] = runProbe(embeddings, n, d, userIds, { y }).scenarios;
    const q1 = s!.auc / (2 - s!.auc);
    const q2 = (2 * s!.auc ** 2) / (1 + s!.auc);
    const n1 = s!.positives;
    const n0 = s!.nEval - n1;
    const hanley = Math.sqrt((s!.auc * (1 - s!.auc) + (n1 - 1) * (q1 - s!.auc ** 2) + (n0 - 1) * (q2 - s!.auc ** 2)) / (n1 * n0));
    assert.ok(Math.abs(s!.aucSE - hanley) / hanley < 0.15, `bootstrap ${s!.aucSE} vs Hanley–McNeil ${hanley}`);
    assert.ok(s!.aucCI95[0] < s!.auc && s!.auc < s!.aucCI95[1] && s!.aucCI95[1] - s!.aucCI95[0] > 3 * s!.aucSE);
    assert.ok(s!.ksSE > 0.01 && s!.ksCI95[0] < s!.ks && s!.ks < s!.ksCI95[1]);
    assert.deepEqual(runProbe(embeddings, n, d, userIds, { y }).scenarios[0], s, 'seeded: the same bars every run');
    const off = runProbe(embeddings, n, d, userIds, { y }, { bootstrap: 0 }).scenarios[0]!;
    assert.deepEqual([off.auc, off.ks, off.aucSE, off.ksSE], [s!.auc, s!.ks, 0, 0]);
  });

  it('stratified k-fold: folds keep the base rate, every labelled user is evaluated once, SE from the folds', () => {
    const rows = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 !== 0);
    const folds = stratifiedFolds(rows, y, userIds, 5);
    assert.deepEqual(folds.flat().sort((a, b) => a - b), rows);
    const positives = folds.map((f) => f.filter((r) => y[r] === 1).length);
    assert.ok(Math.max(...positives) - Math.min(...positives) <= 1, `positives per fold ${positives}`);
    const result = runProbe(embeddings, n, d, userIds, { y }, { folds: 5 });
    const s = result.scenarios[0]!;
    assert.deepEqual([result.split, result.folds, s.nEval, s.foldAuc!.length], ['folds', 5, n, 5]);
    const mean = s.foldAuc!.reduce((a, b) => a + b, 0) / 5;
    const sd = Math.sqrt(s.foldAuc!.reduce((a, v) => a + (v - mean) ** 2, 0) / 4);
    assert.ok(Math.abs(s.auc - mean) < 1e-12 && Math.abs(s.aucSE - sd / Math.sqrt(5)) < 1e-12);
    assert.ok(Math.abs(s.auc - runProbe(embeddings, n, d, userIds, { y }).scenarios[0]!.auc) < 0.05);
    assert.throws(() => runProbe(embeddings, n, d, userIds, { y }, { folds: 1 }), /folds must be an integer ≥ 2/);
  });
});

describe('formatProbeMarkdown', () => {
  it('writes one row per scenario with AUC and KS ± SE to 4 decimals', () => {
    const bars = { aucCI95: [0, 1] as [number, number], ksCI95: [0, 1] as [number, number] };
    const result: ProbeResult = {
      seed: 's',
      l2: 1,
      split: 'hash',
      folds: null,
      bootstrap: 1000,
      users: 10,
      dim: 4,
      scenarios: [
        { scenario: 'churn', auc: 0.73126, ks: 0.4, aucSE: 0.0213, ksSE: 0.03, ...bars, nFit: 5, nEval: 5, positives: 2 },
        { scenario: 'credit', auc: 0.5, ks: 0.123456, aucSE: 0, ksSE: 0, ...bars, nFit: 4, nEval: 6, positives: 3 },
      ],
    };
    assert.equal(
      formatProbeMarkdown(result, 'Universal'),
      [
        '### Universal',
        '',
        '| scenario | AUC | KS | fit users | eval users | eval positives |',
        '|---|---:|---:|---:|---:|---:|',
        '| churn | 0.7313 ± 0.0213 | 0.4000 ± 0.0300 | 5 | 5 | 2 |',
        '| credit | 0.5000 | 0.1235 | 4 | 6 | 3 |',
        '',
        'Logistic regression (L2 = 1 on standardised features, i.e. sklearn C = 1); 50/50 split by sha256 of the user id (seed "s"); ' +
          '± is the standard error from 1000 stratified bootstrap replicates of the evaluation half. 10 users × 4 dims.',
        '',
      ].join('\n'),
    );
  });
});
