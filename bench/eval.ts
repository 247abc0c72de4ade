/**
 * @module bench/eval
 * Timings of the evaluation math on this machine: the probe's logistic regression at the sizes
 * of the real model (d = 896, Qwen2.5-0.5B hidden size) and the tiny preset, and exact t-SNE at
 * the figure size. Data: low-rank correlated Gaussian "embeddings" (like real ones, whose
 * dimensions correlate), labels from a noisy linear rule.
 *
 * Usage: node dist/bench/eval.js [case ...]   (cases: logistic-896, logistic-64, tsne-2000; default all)
 * Prints one JSON object per case.
 */
import { fitLogistic } from '../src/eval/logistic-regression.js';
import { tsne } from '../src/eval/tsne.js';
import { Rng } from '../src/util/rng.js';

/** n×d rows = rank-32 factors × loadings + 0.3·noise; label = sign(f0 + f1 + noise). */
function correlatedEmbeddings(n: number, d: number): { X: Float64Array; y: Uint8Array } {
  const rank = 32;
  const rng = new Rng('bench-eval', n, d);
  const loadings = Float64Array.from({ length: rank * d }, () => rng.normal());
  const X = new Float64Array(n * d);
  const y = new Uint8Array(n);
  const f = new Float64Array(rank);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < rank; k++) f[k] = rng.normal();
    for (let j = 0; j < d; j++) {
      let v = 0.3 * rng.normal();
      for (let k = 0; k < rank; k++) v += f[k] * loadings[k * d + j];
      X[i * d + j] = v;
    }
    y[i] = f[0] + f[1] + rng.normal() > 0 ? 1 : 0;
  }
  return { X, y };
}

const cases: Record<string, () => Record<string, unknown>> = {
  'logistic-896': () => logistic(5000, 896),
  'logistic-64': () => logistic(10000, 64),
  'tsne-2000': () => {
    const { X } = correlatedEmbeddings(2000, 64);
    const start = performance.now();
    const { kl } = tsne(X, 2000, 64);
    return { n: 2000, d: 64, iterations: 1000, ms: Math.round(performance.now() - start), kl };
  },
};

function logistic(n: number, d: number): Record<string, unknown> {
  const { X, y } = correlatedEmbeddings(n, d);
  const start = performance.now();
  const model = fitLogistic(X, n, d, y);
  return { n, d, ms: Math.round(performance.now() - start), iterations: model.iterations, converged: model.converged };
}

const chosen = process.argv.slice(2);
for (const name of chosen.length > 0 ? chosen : Object.keys(cases)) {
  const run = cases[name];
  if (!run) throw new Error(`unknown case ${name}; choose from ${Object.keys(cases).join(', ')}`);
  console.log(JSON.stringify({ case: name, ...run() }));
}
