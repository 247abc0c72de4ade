/**
 * @module eval/logistic-regression
 * Deterministic L2-regularised binary logistic regression on standardised features: the
 * classifier of the linear probe (paper §4.1).
 *
 * Objective (minimised over w ∈ ℝᵐ and the unpenalised bias b):
 *
 *   J(w, b) = Σᵢ [ log(1 + exp(zᵢ)) − yᵢ·zᵢ ] + ½·l2·‖w‖²,   zᵢ = b + Σⱼ wⱼ·(xᵢⱼ − meanⱼ)/stdⱼ
 *
 * with mean and population std (ddof 0) taken on the fit rows. It has the same minimiser as
 * scikit-learn's `LogisticRegression(penalty='l2', C=1/l2)` on `StandardScaler` output
 * (C·Σ loss + ½‖w‖² = C·J), so the default l2 = 1 is sklearn's C = 1. Features whose std is 0 (or below 1e-9·|mean|, which is float
 * rounding of a constant) are ignored: their weight is 0 and their std is recorded as 0.
 *
 * Solver: Newton's method with a Cholesky solve of the exact Hessian and a backtracking line
 * search, started at w = 0 and the bias of the base rate. J is strictly convex for l2 > 0, so
 * the minimiser is unique and finite even on separable data; Newton reaches it in a handful of
 * iterations. Loops run in a fixed order, so two fits of the same data are bit-identical.
 */
import { choleskySolve, weightedGram } from './linalg.js';

/** A fitted model. `weights` apply to standardised features ((x − mean)/std). */
export interface LogisticModel {
  weights: Float64Array;
  bias: number;
  mean: Float64Array;
  /** Population std per feature; 0 marks an ignored (constant) feature. */
  std: Float64Array;
  l2: number;
  /** Newton steps taken. */
  iterations: number;
  /** Whether the stopping rule was met within maxIter. */
  converged: boolean;
}

export interface LogisticOptions {
  /** L2 strength on the weights (= 1/C in sklearn); must be > 0. Default 1. */
  l2?: number;
  /** Most Newton iterations. Default 100. */
  maxIter?: number;
  /** Converged when the Newton decrement λ²/2 (the predicted drop of J) is ≤ tol·max(1, J); that last full step is still taken. Default 1e-12. */
  tol?: number;
}

/** log(1 + exp(z)) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function checkInputs(X: Float64Array | Float32Array, n: number, d: number, y: ArrayLike<number>): void {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 0) throw new RangeError(`logistic regression: bad shape n=${n}, d=${d}`);
  if (X.length !== n * d) throw new RangeError(`logistic regression: X has ${X.length} values, expected n·d = ${n}·${d}`);
  if (y.length !== n) throw new RangeError(`logistic regression: ${y.length} labels for ${n} rows`);
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i])) throw new RangeError(`logistic regression: X[${Math.floor(i / d)}, ${i % d}] is ${X[i]}; features must be finite`);
  }
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw new RangeError(`logistic regression: label ${i} is ${y[i]}; labels must be 0 or 1`);
    positives += y[i];
  }
  if (positives === 0 || positives === n) {
    throw new RangeError(`logistic regression needs both classes, but all ${n} labels are ${positives === 0 ? 0 : 1}`);
  }
}

/** Column mean and population std; std is set to 0 for features treated as constant. */
function standardisation(X: Float64Array | Float32Array, n: number, d: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const c = X[i * d + j] - mean[j];
      std[j] += c * c;
    }
  }
  for (let j = 0; j < d; j++) {
    std[j] = Math.sqrt(std[j] / n);
    if (std[j] <= 1e-9 * Math.abs(mean[j])) std[j] = 0;
  }
  return { mean, std };
}

/** Objective value at linear predictors z (without the penalty). */
function dataLoss(z: Float64Array, y: ArrayLike<number>): number {
  let loss = 0;
  for (let i = 0; i < z.length; i++) loss += softplus(z[i]) - y[i] * z[i];
  return loss;
}

/** ½·l2·‖w‖² over the first m entries of θ (the bias, last, is not penalised). */
function penalty(theta: Float64Array, m: number, l2: number): number {
  let sum = 0;
  for (let k = 0; k < m; k++) sum += theta[k] * theta[k];
  return 0.5 * l2 * sum;
}

/** ∇J over θ = (w, b): Zᵀr + l2·w, and Σr for the bias, with r = p − y. */
function gradient(cols: Float64Array, m: number, n: number, residual: Float64Array, theta: Float64Array, l2: number): Float64Array {
  const g = new Float64Array(m + 1);
  for (let k = 0; k < m; k++) {
    let sum = l2 * theta[k];
    for (let i = 0; i < n; i++) sum += cols[k * n + i] * residual[i];
    g[k] = sum;
  }
  for (let i = 0; i < n; i++) g[m] += residual[i];
  return g;
}

/** Z·v[0..m) + v[m] per row: the change of the linear predictors along a direction v over θ. */
function linearPredictor(cols: Float64Array, m: number, n: number, v: Float64Array): Float64Array {
  const out = new Float64Array(n).fill(v[m]);
  for (let k = 0; k < m; k++) {
    for (let i = 0; i < n; i++) out[i] += cols[k * n + i] * v[k];
  }
  return out;
}

/**
 * Backtracking (Armijo, α = ¼) along −step: halves t until J(θ − t·step) ≤ J(θ) − α·t·λ².
 * Returns the accepted t and J there, or null if no decrease is found.
 */
function lineSearch(
  theta: Float64Array, z: Float64Array, dz: Float64Array, step: Float64Array,
  decrement: number, objective: number, y: ArrayLike<number>, l2: number,
): { t: number; objective: number } | null {
  const m = theta.length - 1;
  const thetaTrial = new Float64Array(m + 1);
  const zTrial = new Float64Array(z.length);
  for (let t = 1, halvings = 0; halvings < 60; halvings++, t /= 2) {
    for (let k = 0; k <= m; k++) thetaTrial[k] = theta[k] - t * step[k];
    for (let i = 0; i < z.length; i++) zTrial[i] = z[i] - t * dz[i];
    const next = dataLoss(zTrial, y) + penalty(thetaTrial, m, l2);
    if (next <= objective - 0.25 * t * decrement) return { t, objective: next };
  }
  return null;
}

/**
 * Fits the model to `X` (n×d, row-major) and 0/1 labels `y`.
 * @throws RangeError on a shape mismatch, non-finite features, labels other than 0/1, a single class, or l2 ≤ 0.
 */
export function fitLogistic(X: Float64Array | Float32Array, n: number, d: number, y: ArrayLike<number>, opts: LogisticOptions = {}): LogisticModel {
  const l2 = opts.l2 ?? 1;
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-12;
  if (!(l2 > 0)) throw new RangeError(`logistic regression: l2 must be > 0 (it keeps separable data finite); got ${l2}`);
  checkInputs(X, n, d, y);
  const { mean, std } = standardisation(X, n, d);

  // Active features as standardised columns (column-major: cols[k*n + i]).
  const active: number[] = [];
  for (let j = 0; j < d; j++) if (std[j] > 0) active.push(j);
  const m = active.length;
  const cols = new Float64Array(m * n);
  active.forEach((j, k) => {
    for (let i = 0; i < n; i++) cols[k * n + i] = (X[i * d + j] - mean[j]) / std[j];
  });

  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];
  // θ = (w, b), the bias last. Start at w = 0 and the bias that fits the base rate.
  const theta = new Float64Array(m + 1);
  theta[m] = Math.log(positives / (n - positives));
  const z = new Float64Array(n).fill(theta[m]);
  let objective = dataLoss(z, y) + penalty(theta, m, l2);

  const residual = new Float64Array(n);
  const curvature = new Float64Array(n);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter) {
    for (let i = 0; i < n; i++) {
      const p = sigmoid(z[i]);
      residual[i] = p - y[i];
      curvature[i] = p * (1 - p);
    }
    const g = gradient(cols, m, n, residual, theta, l2);
    const step = choleskySolve(hessian(cols, m, n, curvature, l2), m + 1, g);
    if (step === null) throw new Error('logistic regression: Hessian is not positive definite (internal error; l2 > 0 should prevent this)');
    let decrement = 0;
    for (let k = 0; k <= m; k++) decrement += g[k] * step[k];
    // Inside the quadratic region a full Newton step is taken without a line search: it is
    // exact to float64 there, while the Armijo test would only compare rounding noise.
    converged = decrement / 2 <= tol * Math.max(1, objective);
    const dz = linearPredictor(cols, m, n, step);
    const taken = converged ? { t: 1, objective: NaN } : lineSearch(theta, z, dz, step, decrement, objective, y, l2);
    if (taken === null) break; // no decrease representable in float64 (not expected before convergence)
    for (let k = 0; k <= m; k++) theta[k] -= taken.t * step[k];
    for (let i = 0; i < n; i++) z[i] -= taken.t * dz[i];
    objective = converged ? dataLoss(z, y) + penalty(theta, m, l2) : taken.objective;
    iterations++;
    if (converged) break;
  }
  const weights = new Float64Array(d);
  active.forEach((j, k) => (weights[j] = theta[k]));
  return { weights, bias: theta[m], mean, std, l2, iterations, converged };
}

/** The (m+1)×(m+1) Hessian of J: [Zᵀ S Z + l2·I, Zᵀ s; sᵀ Z, Σ s] with S = diag(s). */
function hessian(cols: Float64Array, m: number, n: number, s: Float64Array, l2: number): Float64Array {
  const gram = weightedGram(cols, m, n, s);
  const size = m + 1;
  const h = new Float64Array(size * size);
  for (let j = 0; j < m; j++) {
    h.set(gram.subarray(j * m, (j + 1) * m), j * size);
    h[j * size + j] += l2;
    let cross = 0;
    for (let i = 0; i < n; i++) cross += cols[j * n + i] * s[i];
    h[j * size + m] = cross;
    h[m * size + j] = cross;
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += s[i];
  h[m * size + m] = total;
  return h;
}

/** Linear predictor z = b + w·standardised(x) per row of `X` (n×d): a ranking score without saturation. */
export function decisionLogistic(model: LogisticModel, X: Float64Array | Float32Array, n: number, d: number): Float64Array {
  if (model.weights.length !== d) throw new RangeError(`logistic regression: model has ${model.weights.length} features, X has ${d}`);
  if (X.length !== n * d) throw new RangeError(`logistic regression: X has ${X.length} values, expected n·d = ${n}·${d}`);
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = model.bias;
    for (let j = 0; j < d; j++) {
      if (model.std[j] > 0) sum += model.weights[j] * ((X[i * d + j] - model.mean[j]) / model.std[j]);
    }
    z[i] = sum;
  }
  return z;
}

/** P(y = 1 | x) per row of `X` (n×d). For AUC/KS prefer {@link decisionLogistic}: probabilities round to 1 and tie. */
export function predictLogistic(model: LogisticModel, X: Float64Array | Float32Array, n: number, d: number): Float64Array {
  return decisionLogistic(model, X, n, d).map(sigmoid);
}
