/**
 * @module model/qwen2
 * The Qwen2 causal decoder exactly as transformers' `modeling_qwen2.py` computes it: pre-norm
 * blocks with RMSNorm (float32), RoPE (half-split rotate_half, `rope_theta`), grouped-query
 * attention (q/k/v bias, no o bias), SwiGLU MLP, a final RMSNorm, and tied embeddings for the
 * LM head. The decoder takes input *embeddings* (InstructUE mixes token embeddings with soft
 * tokens), so the embedding lookup lives in the composition (src/model/instructue.ts).
 *
 * Legend: B batch, T length, D hidden, H heads, K kv heads, E head size, V vocab, M rows.
 */
import { tf, type Tensor } from '../backend/tf.js';
import {
  applyRope, causalPaddingBias, groupedAttention, linear, mergeHeads, rmsNorm, ropeTables, silu, splitHeads,
  type ForwardOptions, type Linear,
} from './layers.js';

export interface Qwen2Dims {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headSize: number;
  intermediate: number;
  vocab: number;
  ropeTheta: number;
  rmsEps: number;
  maxPositions: number;
}

export interface Qwen2Layer {
  inputNorm_D: Tensor;
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  postNorm_D: Tensor;
  gate: Linear;
  up: Linear;
  down: Linear;
}

export interface Qwen2Weights {
  /** Token embeddings [V, D]; also the (tied) LM head. Frozen, or a variable in full fine-tuning. */
  embed_VD: Tensor;
  layers: Qwen2Layer[];
  finalNorm_D: Tensor;
}

/** The decoder: weights plus cached RoPE tables and LM-head kernel. */
export class Qwen2Decoder {
  readonly dims: Qwen2Dims;
  readonly weights: Qwen2Weights;
  private rope: { cos_TE: Tensor; sin_TE: Tensor; length: number } | null = null;
  private lmHead_DV: Tensor | null = null;

  constructor(dims: Qwen2Dims, weights: Qwen2Weights) {
    this.dims = dims;
    this.weights = weights;
  }

  /** Token embeddings for ids [B, T] (a frozen lookup, or differentiable when the table trains). */
  embed(ids_BT: Tensor): Tensor {
    return tf.gather(this.weights.embed_VD, ids_BT);
  }

  /**
   * Final hidden states [B, T, D] (after the last RMSNorm, i.e. HF's `last_hidden_state`) for
   * input embeddings [B, T, D] and a right-padded attention mask (1 = token, 0 = padding).
   * `collect` receives the input embeddings and then each layer's output (HF's
   * `hidden_states` before the final norm is applied to the last one).
   */
  forward(inputs_BTD: Tensor, mask_BT: Int32Array, opts: ForwardOptions = {}, collect?: (h_BTD: Tensor) => void): Tensor {
    const [batch, length] = inputs_BTD.shape as [number, number, number];
    const { cos_TE, sin_TE } = this.ropeFor(length);
    const bias_BTT = causalPaddingBias(mask_BT, batch, length);
    let h_BTD = inputs_BTD;
    collect?.(h_BTD);
    this.weights.layers.forEach((layer, index) => {
      h_BTD = this.block(h_BTD, layer, bias_BTT, cos_TE, sin_TE, opts, index);
      collect?.(h_BTD);
    });
    return rmsNorm(h_BTD, this.weights.finalNorm_D, this.dims.rmsEps);
  }

  private block(x_BTD: Tensor, layer: Qwen2Layer, bias_BTT: Tensor, cos_TE: Tensor, sin_TE: Tensor, opts: ForwardOptions, index: number): Tensor {
    const { heads, kvHeads, rmsEps } = this.dims;
    const salt = index * 16;
    const normed_BTD = rmsNorm(x_BTD, layer.inputNorm_D, rmsEps);
    const q_BHTE = applyRope(splitHeads(linear(normed_BTD, layer.q, opts, salt + 1), heads), cos_TE, sin_TE);
    const k_BKTE = applyRope(splitHeads(linear(normed_BTD, layer.k, opts, salt + 2), kvHeads), cos_TE, sin_TE);
    const v_BKTE = splitHeads(linear(normed_BTD, layer.v, opts, salt + 3), kvHeads);
    const attn_BTD = mergeHeads(groupedAttention(q_BHTE, k_BKTE, v_BKTE, bias_BTT));
    const h_BTD = tf.add(x_BTD, linear(attn_BTD, layer.o, opts, salt + 4));
    const post_BTD = rmsNorm(h_BTD, layer.postNorm_D, rmsEps);
    const gated_BTF = tf.mul(silu(linear(post_BTD, layer.gate, opts, salt + 5)), linear(post_BTD, layer.up, opts, salt + 6));
    return tf.add(h_BTD, linear(gated_BTF, layer.down, opts, salt + 7));
  }

  /**
   * Logits [M, V] = h·Eᵀ with the tied embedding: an explicit [D, V] copy made once for a frozen
   * table, or transposed on every call (inside the gradient pass) when the table trains.
   */
  logits(hidden_MD: Tensor): Tensor {
    if (this.weights.embed_VD instanceof tf.Variable) return tf.matMul(hidden_MD, tf.transpose(this.weights.embed_VD));
    if (!this.lmHead_DV) this.lmHead_DV = tf.keep(tf.transpose(this.weights.embed_VD));
    return tf.matMul(hidden_MD, this.lmHead_DV);
  }

  private ropeFor(length: number): { cos_TE: Tensor; sin_TE: Tensor } {
    if (!this.rope || this.rope.length < length) {
      if (this.rope) tf.dispose([this.rope.cos_TE, this.rope.sin_TE]);
      const size = Math.max(length, 64);
      const tables = tf.tidy(() => ropeTables(size, this.dims.headSize, this.dims.ropeTheta));
      this.rope = { ...tables, length: size };
      tf.keep(this.rope.cos_TE);
      tf.keep(this.rope.sin_TE);
    }
    if (this.rope.length === length) return this.rope;
    return {
      cos_TE: this.rope.cos_TE.slice([0, 0], [length, -1]),
      sin_TE: this.rope.sin_TE.slice([0, 0], [length, -1]),
    };
  }

  /** Frees the cached tables (weights belong to the caller). */
  disposeCaches(): void {
    if (this.rope) tf.dispose([this.rope.cos_TE, this.rope.sin_TE]);
    if (this.lmHead_DV) this.lmHead_DV.dispose();
    this.rope = null;
    this.lmHead_DV = null;
  }
}
