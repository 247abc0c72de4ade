/**
 * @module eval/pca
 * The top principal components of a small data set (n ≲ 10k rows, d ≲ 2k columns), for the
 * t-SNE initialisation. Covariance by the blocked Gram kernel, then orthogonal (block power)
 * iteration from a seeded start; signs fixed so that each component's largest entry is
 * positive. Deterministic for a given input.
 */
import { weightedGram } from './linalg.js';
import { Rng } from '../util/rng.js';

/**
 * Projects the centred rows of X (n×d, row-major) on its top `k` principal axes.
 * @returns n×k scores, row-major.
 */
export function pcaScores(X: Float32Array | Float64Array, n: number, d: number, k: number): Float64Array {
  if (X.length !== n * d) throw new RangeError(`PCA: X has ${X.length} values, expected n·d = ${n}·${d}`);
  if (!(k >= 1 && k <= d)) throw new RangeError(`PCA: k = ${k} must be between 1 and d = ${d}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X[i * d + j] / n;
  const cols = new Float64Array(d * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) cols[j * n + i] = X[i * d + j] - mean[j];
  const axes = topEigenvectors(weightedGram(cols, d, n, new Float64Array(n).fill(1)), d, k);
  const scores = new Float64Array(n * k);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) {
      const a = axes[c * d + j];
      for (let i = 0; i < n; i++) scores[i * k + c] += cols[j * n + i] * a;
    }
  }
  return scores;
}

/** Top-k eigenvectors (k×d, row-major) of a symmetric PSD d×d matrix by orthogonal iteration. */
function topEigenvectors(cov: Float64Array, d: number, k: number): Float64Array {
  const rng = new Rng('pca-start');
  let v = Float64Array.from({ length: k * d }, () => rng.normal());
  orthonormalise(v, d, k);
  for (let iter = 0; iter < 1000; iter++) {
    const next = new Float64Array(k * d);
    for (let c = 0; c < k; c++) {
      for (let r = 0; r < d; r++) {
        let sum = 0;
        for (let j = 0; j < d; j++) sum += cov[r * d + j] * v[c * d + j];
        next[c * d + r] = sum;
      }
    }
    orthonormalise(next, d, k);
    let change = 0;
    for (let i = 0; i < k * d; i++) change = Math.max(change, Math.abs(Math.abs(next[i]) - Math.abs(v[i])));
    v = next;
    if (change < 1e-12) break;
  }
  for (let c = 0; c < k; c++) {
    let largest = 0;
    for (let j = 0; j < d; j++) if (Math.abs(v[c * d + j]) > Math.abs(v[c * d + largest])) largest = j;
    if (v[c * d + largest] < 0) for (let j = 0; j < d; j++) v[c * d + j] = -v[c * d + j];
  }
  return v;
}

/** Modified Gram–Schmidt on the k rows (length d) of v, in place. */
function orthonormalise(v: Float64Array, d: number, k: number): void {
  for (let c = 0; c < k; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += v[c * d + j] * v[p * d + j];
      for (let j = 0; j < d; j++) v[c * d + j] -= dot * v[p * d + j];
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += v[c * d + j] * v[c * d + j];
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < d; j++) v[c * d + j] /= norm;
  }
}
