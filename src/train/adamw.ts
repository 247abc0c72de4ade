/**
 * @module train/adamw
 * AdamW (decoupled weight decay, Loshchilov & Hutter; PyTorch's `torch.optim.AdamW` update
 * order) over one flat float32 parameter vector on the host. tfjs has no AdamW; keeping the
 * update on the host also makes it bit-identical on every worker and backend, and makes the
 * optimizer state plain arrays for checkpoints (`toState`/`fromState`).
 */

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface AdamWState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

export class AdamW {
  readonly config: AdamWConfig;
  private m: Float32Array;
  private v: Float32Array;
  private t = 0;

  constructor(size: number, config: AdamWConfig) {
    this.config = config;
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  get step(): number {
    return this.t;
  }

  /** One update of `params` in place with gradient `grad` and learning rate `lr`. */
  update(params: Float32Array, grad: Float32Array, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.t += 1;
    const bias1 = 1 - Math.pow(beta1, this.t);
    const bias2 = 1 - Math.pow(beta2, this.t);
    const stepSize = lr / bias1;
    const decay = 1 - lr * weightDecay;
    const sqrtBias2 = Math.sqrt(bias2);
    const { m, v } = this;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i]!;
      m[i] = beta1 * m[i]! + (1 - beta1) * g;
      v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
      params[i] = params[i]! * decay - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / sqrtBias2 + eps);
    }
  }

  toState(): AdamWState {
    return { step: this.t, m: this.m.slice(), v: this.v.slice() };
  }

  fromState(state: AdamWState): void {
    if (state.m.length !== this.m.length || state.v.length !== this.v.length) {
      throw new Error(`optimizer state holds ${state.m.length} moments but the model has ${this.m.length} trainable values`);
    }
    this.t = state.step;
    this.m = state.m.slice();
    this.v = state.v.slice();
  }
}

/** Scales `grad` in place so its global L2 norm is at most `maxNorm` (0 = off); returns the norm before clipping. */
export function clipGlobalNorm(grad: Float32Array, maxNorm: number): number {
  let sum = 0;
  for (let i = 0; i < grad.length; i++) sum += grad[i]! * grad[i]!;
  const norm = Math.sqrt(sum);
  if (maxNorm > 0 && norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * scale;
  }
  return norm;
}
