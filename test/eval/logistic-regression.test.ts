import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decisionLogistic, fitLogistic, predictLogistic, type LogisticModel } from '../../src/eval/logistic-regression.js';
import { Rng } from '../../src/util/rng.js';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * Largest |∂J/∂θ| of the documented objective J = Σ softplus(z) − y·z + ½·l2·‖w‖² at the fitted
 * model, computed from scratch: ≈ 0 iff the model is the minimiser of exactly that objective.
 */
function maxGradient(model: LogisticModel, X: Float64Array, n: number, d: number, y: ArrayLike<number>): number {
  const z = decisionLogistic(model, X, n, d);
  const grad = Array.from(model.weights, (w) => model.l2 * w);
  let gradBias = 0;
  for (let i = 0; i < n; i++) {
    const r = sigmoid(z[i]) - y[i];
    gradBias += r;
    for (let j = 0; j < d; j++) if (model.std[j] > 0) grad[j] += (r * (X[i * d + j] - model.mean[j])) / model.std[j];
  }
  return Math.max(Math.abs(gradBias), ...grad.map(Math.abs));
}

/** n rows from a known logistic model in original units: y ~ Bernoulli(σ(b + w·x)), x_j ~ N(μ_j, s_j²). */
function synthetic(n: number, w: number[], b: number, mu: number[], sd: number[], seed: string) {
  const rng = new Rng(seed);
  const d = w.length;
  const X = new Float64Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let z = b;
    for (let j = 0; j < d; j++) {
      X[i * d + j] = mu[j] + sd[j] * rng.normal();
      z += w[j] * X[i * d + j];
    }
    y[i] = rng.next() < sigmoid(z) ? 1 : 0;
  }
  return { X, y };
}

describe('fitLogistic', () => {
  it('matches the hand-solved symmetric two-point case', () => {
    // x = [−1, 1], y = [0, 1]: mean 0, std 1, so standardised x = x. By symmetry b = 0, and
    // ∂J/∂w = (σ(−w) − 0)·(−1) + (σ(w) − 1)·1 + l2·w = −2σ(−w) + l2·w = 0, i.e. l2·w = 2/(1 + eʷ).
    // For l2 = 1: f(w) = w − 2/(1 + eʷ) has f(0.674) = 0.674 − 2/2.96207 = −0.0012 < 0 and
    // f(0.676) = 0.676 − 2/2.96600 = +0.0017 > 0, so w ∈ (0.674, 0.676).
    const model = fitLogistic(Float64Array.of(-1, 1), 2, 1, [0, 1]);
    const w = model.weights[0];
    assert.ok(w > 0.674 && w < 0.676, `w = ${w}`);
    assert.ok(Math.abs(w - 2 / (1 + Math.exp(w))) < 1e-12);
    assert.ok(Math.abs(model.bias) < 1e-15);
    assert.deepEqual([Array.from(model.mean), Array.from(model.std), model.converged], [[0], [1], true]);
  });

  it('fits only the bias (log-odds of the base rate) when the only feature is constant', () => {
    // ∂J/∂b = Σ σ(b) − y = 4σ(b) − 3 = 0 → σ(b) = ¾ → b = ln 3. The constant feature is ignored;
    // the start point is already the optimum, so one (null) Newton step confirms it.
    const model = fitLogistic(Float64Array.of(3.7, 3.7, 3.7, 3.7), 4, 1, [1, 1, 0, 1]);
    assert.deepEqual(
      [Array.from(model.weights), Array.from(model.std), model.iterations, model.converged],
      [[0], [0], 1, true],
    );
    assert.ok(Math.abs(model.bias - Math.log(3)) < 1e-15);
  });

  it('recovers the weights of a known logistic model (n = 5000)', () => {
    const wTrue = [1.0, -2.0, 0.5, 0, 0.3];
    const mu = [0, 2, -1, 5, 0];
    const sd = [1, 0.5, 2, 1, 3];
    const bTrue = -0.5 - wTrue.reduce((acc, w, j) => acc + w * mu[j], 0);
    const { X, y } = synthetic(5000, wTrue, bTrue, mu, sd, 'recover');
    const model = fitLogistic(X, 5000, 5, y);
    // Back to original units: w_j = w̃_j / std_j, b = b̃ − Σ w̃_j·mean_j/std_j.
    const w = Array.from(model.weights, (v, j) => v / model.std[j]);
    const b = model.bias - w.reduce((acc, v, j) => acc + v * model.mean[j], 0);
    // Standard errors are ≈ 0.03–0.08 here; 0.2 is > 3 of them, while the signal is ≥ 0.3.
    const errors = [...w.map((v, j) => Math.abs(v - wTrue[j])), Math.abs(b - bTrue)];
    assert.ok(Math.max(...errors) < 0.2, `errors ${errors.map((e) => e.toFixed(3))}`);
    assert.equal(model.converged, true);
    assert.ok(maxGradient(model, X, 5000, 5, y) < 1e-8);
  });

  for (const l2 of [1, 10, 0.01]) {
    it(`minimises exactly Σ logloss + ½·l2·‖w‖² (gradient 0 at l2 = ${l2})`, () => {
      const { X, y } = synthetic(400, [0.8, -0.4, 0, 1.2], 0.3, [1, 0, -2, 0], [1, 2, 1, 0.5], `kkt${l2}`);
      const model = fitLogistic(X, 400, 4, y, { l2 });
      assert.equal(model.l2, l2);
      assert.ok(maxGradient(model, X, 400, 4, y) < 1e-8);
    });
  }

  it('keeps separable data finite and ranks it perfectly', () => {
    const X = Float64Array.of(-3, -2, -1, 1, 2, 3);
    const y = [0, 0, 0, 1, 1, 1];
    const model = fitLogistic(X, 6, 1, y);
    assert.ok(Number.isFinite(model.weights[0]) && model.weights[0] > 0 && model.converged);
    assert.ok(maxGradient(model, X, 6, 1, y) < 1e-10);
    const p = predictLogistic(model, X, 6, 1);
    assert.ok(p.every((v, i) => (y[i] === 1 ? v > 0.5 : v < 0.5)));
  });

  it('ignores a constant column at fit and at predict time, even for new values there', () => {
    const { X, y } = synthetic(300, [1, -1], 0, [0, 0], [1, 1], 'constant');
    const withConstant = new Float64Array(300 * 3);
    for (let i = 0; i < 300; i++) withConstant.set([X[i * 2], 5, X[i * 2 + 1]], i * 3);
    const a = fitLogistic(X, 300, 2, y);
    const b = fitLogistic(withConstant, 300, 3, y);
    assert.deepEqual([b.weights[1], b.std[1]], [0, 0]);
    const fresh = Float64Array.of(0.5, 99, -0.25);
    assert.equal(decisionLogistic(b, fresh, 1, 3)[0], decisionLogistic(a, Float64Array.of(0.5, -0.25), 1, 2)[0]);
  });

  it('is bit-identical across two runs', () => {
    const rng = new Rng('determinism');
    const n = 600;
    const d = 30;
    const X = Float64Array.from({ length: n * d }, () => rng.normal());
    const y = Uint8Array.from({ length: n }, (_, i) => (X[i * d] + X[i * d + 1] + rng.normal() > 0 ? 1 : 0));
    const [a, b] = [fitLogistic(X, n, d, y), fitLogistic(X, n, d, y)];
    assert.deepEqual(Buffer.from(a.weights.buffer), Buffer.from(b.weights.buffer));
    assert.ok(Object.is(a.bias, b.bias));
    assert.deepEqual(Buffer.from(predictLogistic(a, X, n, d).buffer), Buffer.from(predictLogistic(b, X, n, d).buffer));
  });

  it('predictLogistic is the sigmoid of decisionLogistic', () => {
    const { X, y } = synthetic(50, [2], 0, [0], [1], 'sigmoid');
    const model = fitLogistic(X, 50, 1, y);
    const z = decisionLogistic(model, X, 50, 1);
    assert.ok(predictLogistic(model, X, 50, 1).every((p, i) => Math.abs(p - sigmoid(z[i])) < 1e-15));
  });

  it('rejects bad inputs with clear messages', () => {
    assert.throws(() => fitLogistic(Float64Array.of(1, 2), 2, 1, [1, 1]), /needs both classes, but all 2 labels are 1/);
    assert.throws(() => fitLogistic(Float64Array.of(1, 2), 2, 1, [0, 1], { l2: 0 }), /l2 must be > 0/);
    assert.throws(() => fitLogistic(Float64Array.of(1, NaN), 2, 1, [0, 1]), /X\[1, 0\] is NaN/);
    assert.throws(() => fitLogistic(Float64Array.of(1, 2, 3), 2, 1, [0, 1]), /X has 3 values, expected n·d = 2·1/);
    assert.throws(() => fitLogistic(Float64Array.of(1, 2), 2, 1, [0, 2]), /label 1 is 2/);
  });
});
