/**
 * @module model/layers
 * The building blocks shared by the decoder (Qwen2) and the encoder (BERT): linear layers with
 * optional LoRA, RMSNorm, LayerNorm, exact GELU, RoPE and masked multi-head attention with
 * grouped key/value heads. Everything is float32, and every matmul is "plain" (no transpose
 * flags): linear weights are stored as [in, out] kernels and attention transposes explicitly,
 * because transposed matmuls run 10-40x slower on the wasm backend (probe-notes §1a).
 *
 * Legend: B batch, T query length, S key length, D width, H heads, K kv heads, G = H/K,
 * E head size, I input width, O output width, R LoRA rank.
 */
import { tf, type Tensor } from '../backend/tf.js';

/** A LoRA pair on one linear layer: y += scale · dropout(x)·A·B (PEFT's math, kernel layout). */
export interface LoraPair {
  a_IR: tf.Variable;
  b_RO: tf.Variable;
  scale: number;
  dropout: number;
}

/** A linear layer: kernel [I, O], optional bias [O], optional LoRA. */
export interface Linear {
  kernel_IO: Tensor;
  bias_O?: Tensor;
  lora?: LoraPair;
}

/** Per-call options threaded through the forward pass. */
export interface ForwardOptions {
  /** Seed for LoRA dropout masks (the two passes of a step replay the same masks); omit = no dropout. */
  dropoutSeed?: number;
}

/** x·W (+b) (+ LoRA), for x of any rank ≥ 2 with last axis I. */
export function linear(x: Tensor, layer: Linear, opts: ForwardOptions = {}, salt = 0): Tensor {
  const lead = x.shape.slice(0, -1);
  const x2 = x.reshape([-1, x.shape[x.shape.length - 1]!]);
  let y = tf.matMul(x2, layer.kernel_IO);
  if (layer.bias_O) y = tf.add(y, layer.bias_O);
  const lora = layer.lora;
  if (lora) {
    let xin = x2;
    if (lora.dropout > 0 && opts.dropoutSeed !== undefined) xin = tf.dropout(x2, lora.dropout, undefined, opts.dropoutSeed + salt);
    y = tf.add(y, tf.matMul(tf.matMul(xin, lora.a_IR), lora.b_RO).mul(lora.scale));
  }
  return y.reshape([...lead, y.shape[1]!]);
}

/** RMSNorm (Qwen2): x · rsqrt(mean(x²) + eps) · w, in float32. */
export function rmsNorm(x: Tensor, weight_D: Tensor, eps: number): Tensor {
  const variance = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight_D);
}

/** LayerNorm (BERT): (x − mean) / sqrt(var + eps) · w + b, biased variance like PyTorch. */
export function layerNorm(x: Tensor, weight_D: Tensor, bias_D: Tensor, eps: number): Tensor {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), weight_D), bias_D);
}

/** Exact (erf) GELU, as BERT's "gelu". */
export function geluExact(x: Tensor): Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** SiLU (swish): x · sigmoid(x). */
export function silu(x: Tensor): Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/**
 * RoPE tables for positions 0..T−1: cos/sin of shape [T, E] with HF's layout
 * (inv_freq over the first half, duplicated: emb = cat(freqs, freqs)). Computed in float64 on
 * the host from float32 inverse frequencies, like transformers does in float32.
 */
export function ropeTables(length: number, headSize: number, theta: number): { cos_TE: Tensor; sin_TE: Tensor } {
  const half = headSize / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(theta, (2 * i) / headSize);
  const cos = new Float32Array(length * headSize);
  const sin = new Float32Array(length * headSize);
  for (let t = 0; t < length; t++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(t * invFreq[i]!);
      cos[t * headSize + i] = cos[t * headSize + i + half] = Math.cos(angle);
      sin[t * headSize + i] = sin[t * headSize + i + half] = Math.sin(angle);
    }
  }
  return { cos_TE: tf.tensor2d(cos, [length, headSize]), sin_TE: tf.tensor2d(sin, [length, headSize]) };
}

/** q·cos + rotate_half(q)·sin with rotate_half(x) = cat(−x[E/2:], x[:E/2]) (half-split, not interleaved). */
export function applyRope(x_BHTE: Tensor, cos_TE: Tensor, sin_TE: Tensor): Tensor {
  const e = x_BHTE.shape[3]!;
  const [first, second] = tf.split(x_BHTE, [e / 2, e / 2], 3);
  const rotated = tf.concat([tf.neg(second!), first!], 3);
  return tf.add(tf.mul(x_BHTE, cos_TE), tf.mul(rotated, sin_TE));
}

/** [B, T, H·E] → [B, H, T, E]. */
export function splitHeads(x_BTD: Tensor, heads: number): Tensor {
  const [b, t, d] = x_BTD.shape as [number, number, number];
  return x_BTD.reshape([b, t, heads, d / heads]).transpose([0, 2, 1, 3]);
}

/** [B, H, T, E] → [B, T, H·E]. */
export function mergeHeads(x_BHTE: Tensor): Tensor {
  const [b, h, t, e] = x_BHTE.shape as [number, number, number, number];
  return x_BHTE.transpose([0, 2, 1, 3]).reshape([b, t, h * e]);
}

/**
 * Scaled dot-product attention with grouped KV heads, without materialising repeat_kv:
 * query heads h = k·G + g all read kv head k (HF's contiguous repeat_interleave), so the G
 * query heads of one kv head are stacked along the query axis and share one matmul.
 * `bias_BTS` is the additive mask (0 or a large negative), broadcast over heads.
 */
export function groupedAttention(q_BHTE: Tensor, k_BKSE: Tensor, v_BKSE: Tensor, bias_BTS: Tensor): Tensor {
  const [b, h, t, e] = q_BHTE.shape as [number, number, number, number];
  const kv = k_BKSE.shape[1]!;
  const s = k_BKSE.shape[2]!;
  const g = h / kv;
  const q_BKQE = q_BHTE.reshape([b, kv, g * t, e]);
  const kT_BKES = k_BKSE.transpose([0, 1, 3, 2]);
  const scores_BKGTS = tf.matMul(q_BKQE, kT_BKES).mul(1 / Math.sqrt(e)).reshape([b, kv, g, t, s]);
  // The mask is broadcast over kv heads and groups (a tile would copy it G·K times: on wasm
  // that copy cost as much as the attention matmuls); the sums are the same either way.
  const probs_BKQS = tf.softmax(tf.add(scores_BKGTS, bias_BTS.reshape([b, 1, 1, t, s]))).reshape([b, kv, g * t, s]);
  return tf.matMul(probs_BKQS, v_BKSE).reshape([b, h, t, e]);
}

/** Large negative used for masked logits (HF uses finfo(float32).min; any value that underflows exp works). */
export const MASKED = -1e9;

/**
 * Additive attention bias [B, T, T] for a causal decoder with right padding: key j is visible
 * to query i when j ≤ i and key j is not padding.
 */
export function causalPaddingBias(mask_BT: Int32Array, batch: number, length: number): Tensor {
  const bias = new Float32Array(batch * length * length);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < length; i++) {
      const row = (b * length + i) * length;
      for (let j = 0; j < length; j++) {
        if (j > i || mask_BT[b * length + j] === 0) bias[row + j] = MASKED;
      }
    }
  }
  return tf.tensor3d(bias, [batch, length, length]);
}

/** Additive bias [B, T, T] for a bidirectional encoder: padded keys are hidden. */
export function paddingBias(mask_BT: Int32Array, batch: number, length: number): Tensor {
  const bias = new Float32Array(batch * length * length);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < length; i++) {
      for (let j = 0; j < length; j++) if (mask_BT[b * length + j] === 0) bias[(b * length + i) * length + j] = MASKED;
    }
  }
  return tf.tensor3d(bias, [batch, length, length]);
}
