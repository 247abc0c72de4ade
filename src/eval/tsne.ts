/**
 * @module eval/tsne
 * Exact t-SNE (van der Maaten & Hinton, 2008) to 2-d, for pictures of embeddings like the
 * paper's Fig. 5. O(n²) time and memory per iteration, meant for n up to ~2,000 points.
 *
 * Input affinities: Gaussian conditionals P(j|i) on squared Euclidean distances, each row's
 * bandwidth found by bisection so that its perplexity 2^H equals the target; P = (P(j|i) +
 * P(i|j)) / 2n. Output affinities: Student-t, q_ij ∝ (1 + ‖y_i − y_j‖²)⁻¹. Optimiser and
 * defaults follow scikit-learn's exact method: 1,000 iterations, early exaggeration 12 with
 * momentum 0.5 for the first 250, then momentum 0.8; learning rate max(n / 12 / 4, 50);
 * delta-bar-delta gains (+0.2 / ×0.8, floor 0.01). Seeded initialisation, so the layout is
 * the same on every run.
 */
import { pcaScores } from './pca.js';
import { Rng } from '../util/rng.js';

export interface TsneOptions {
  /** Effective number of neighbours (default 30); must be below the number of points. */
  perplexity?: number;
  /** Gradient steps (default 1000, of which the first 250 use early exaggeration). */
  iterations?: number;
  /** Seed of the random initialisation (default 'tsne'). */
  seed?: string;
  /** 'random': N(0, 1e-4²) per coordinate (default); 'pca': top-2 PCA scores scaled to std 1e-4. */
  init?: 'random' | 'pca';
}

export interface TsneResult {
  /** n×2 coordinates, row-major. */
  Y: Float64Array;
  /** KL(P‖Q) of the final layout. */
  kl: number;
}

const EXAGGERATION = 12;
const EXPLORATION_ITERATIONS = 250;
const MIN_P = 1e-12;

/** Squared Euclidean distances between the rows of X (n×d), n×n. */
function squaredDistances(X: Float32Array | Float64Array, n: number, d: number): Float64Array {
  const dist = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < d; k++) {
        const diff = X[i * d + k] - X[j * d + k];
        sum += diff * diff;
      }
      dist[i * n + j] = sum;
      dist[j * n + i] = sum;
    }
  }
  return dist;
}

/**
 * Row-stochastic P(j|i) (n×n, zero diagonal) whose rows each have perplexity `perplexity`
 * (bisection on the precision β to |H − ln perplexity| < 1e-5 nats).
 */
export function conditionalProbabilities(X: Float32Array | Float64Array, n: number, d: number, perplexity: number): Float64Array {
  if (X.length !== n * d) throw new RangeError(`t-SNE: X has ${X.length} values, expected n·d = ${n}·${d}`);
  if (!(perplexity > 1 && perplexity < n)) throw new RangeError(`t-SNE: perplexity ${perplexity} must be > 1 and below the number of points (${n})`);
  const dist = squaredDistances(X, n, d);
  const target = Math.log(perplexity);
  const P = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = dist.subarray(i * n, (i + 1) * n);
    let nearest = Infinity;
    for (let j = 0; j < n; j++) if (j !== i) nearest = Math.min(nearest, row[j]);
    // exp(−β·(D − nearest)) avoids underflow; the shift cancels in the normalisation.
    let beta = 1;
    let lo = 0;
    let hi = Infinity;
    for (let step = 0; step < 200; step++) {
      let sum = 0;
      let weighted = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const p = Math.exp(-beta * (row[j] - nearest));
        P[i * n + j] = p;
        sum += p;
        weighted += p * (row[j] - nearest);
      }
      const entropy = Math.log(sum) + (beta * weighted) / sum;
      for (let j = 0; j < n; j++) P[i * n + j] /= sum;
      if (Math.abs(entropy - target) < 1e-5) break;
      // Too flat (entropy too high) → sharpen: raise β; too sharp → lower it.
      if (entropy > target) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = (beta + lo) / 2;
      }
    }
  }
  return P;
}

/** Initial layout: seeded Gaussian or scaled PCA scores, both with std 1e-4 on the first axis. */
function initialLayout(X: Float32Array | Float64Array, n: number, d: number, opts: TsneOptions): Float64Array {
  if (opts.init === 'pca' && d >= 2) {
    const Y = pcaScores(X, n, d, 2);
    let variance = 0;
    for (let i = 0; i < n; i++) variance += (Y[i * 2] * Y[i * 2]) / n;
    const scale = 1e-4 / (Math.sqrt(variance) || 1);
    return Y.map((v) => v * scale);
  }
  const rng = new Rng(opts.seed ?? 'tsne');
  return Float64Array.from({ length: n * 2 }, () => 1e-4 * rng.normal());
}

/**
 * Embeds the rows of X (n×d, row-major) in 2-d.
 * @throws RangeError on a shape mismatch or a perplexity not below n.
 */
export function tsne(X: Float32Array | Float64Array, n: number, d: number, opts: TsneOptions = {}): TsneResult {
  const cond = conditionalProbabilities(X, n, d, opts.perplexity ?? 30);
  const P = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (i !== j) P[i * n + j] = Math.max((cond[i * n + j] + cond[j * n + i]) / (2 * n), MIN_P);
  }
  const Y = initialLayout(X, n, d, opts);
  const iterations = opts.iterations ?? 1000;
  const learningRate = Math.max(n / EXAGGERATION / 4, 50);
  const update = new Float64Array(n * 2);
  const gains = new Float64Array(n * 2).fill(1);
  const W = new Float64Array(n * n);
  const grad = new Float64Array(n * 2);
  for (let iter = 0; iter < iterations; iter++) {
    const exploring = iter < EXPLORATION_ITERATIONS;
    const Z = studentWeights(Y, n, W);
    gradient(P, W, Z, Y, n, exploring ? EXAGGERATION : 1, grad);
    const momentum = exploring ? 0.5 : 0.8;
    for (let k = 0; k < n * 2; k++) {
      gains[k] = update[k] * grad[k] < 0 ? gains[k] + 0.2 : Math.max(gains[k] * 0.8, 0.01);
      update[k] = momentum * update[k] - learningRate * gains[k] * grad[k];
      Y[k] += update[k];
    }
  }
  const Z = studentWeights(Y, n, W);
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (i !== j) kl += P[i * n + j] * Math.log(P[i * n + j] / Math.max(W[i * n + j] / Z, MIN_P));
  }
  return { Y, kl };
}

/** Fills W with (1 + ‖y_i − y_j‖²)⁻¹ (symmetric, zero diagonal) and returns their sum Z. */
function studentWeights(Y: Float64Array, n: number, W: Float64Array): number {
  let Z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = Y[i * 2] - Y[j * 2];
      const dy = Y[i * 2 + 1] - Y[j * 2 + 1];
      const w = 1 / (1 + dx * dx + dy * dy);
      W[i * n + j] = w;
      W[j * n + i] = w;
      Z += 2 * w;
    }
  }
  return Z;
}

/** ∂KL/∂y_i = 4·Σ_j (exaggeration·p_ij − q_ij)·w_ij·(y_i − y_j), into grad (n×2). */
function gradient(P: Float64Array, W: Float64Array, Z: number, Y: Float64Array, n: number, exaggeration: number, grad: Float64Array): void {
  grad.fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const w = W[i * n + j];
      const f = 4 * (exaggeration * P[i * n + j] - w / Z) * w;
      const fx = f * (Y[i * 2] - Y[j * 2]);
      const fy = f * (Y[i * 2 + 1] - Y[j * 2 + 1]);
      grad[i * 2] += fx;
      grad[i * 2 + 1] += fy;
      grad[j * 2] -= fx;
      grad[j * 2 + 1] -= fy;
    }
  }
}
