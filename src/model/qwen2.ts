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
import { continuationBias, prefixBias } from './prefix-masks.js';

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

/**
 * The keys and values every layer computed over a batch of prefixes [B, P] (RoPE applied), for
 * continuations that attend to them (`Qwen2Decoder.extend`). Row b's prefix is its first
 * `lengths[b]` positions; the rest is padding.
 */
export interface PrefixCache {
  layers: Array<{ k_BKPE: Tensor; v_BKPE: Tensor }>;
  lengths: Int32Array;
  length: number;
}

/** Where a block's attention reads extra keys from, and whether to hand its own back. */
interface BlockCache {
  past?: { k_BKPE: Tensor; v_BKPE: Tensor };
  keep?: (k_BKTE: Tensor, v_BKTE: Tensor) => void;
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

  /**
   * Final hidden states [B, P, D] of a batch of prefixes (row b: its first `lengths[b]` of the
   * P positions), and every layer's keys and values for `extend`. No gradient use: inference.
   */
  prefill(inputs_BPD: Tensor, lengths: Int32Array, opts: ForwardOptions = {}): { hidden_BPD: Tensor; cache: PrefixCache } {
    const [batch, length] = inputs_BPD.shape as [number, number, number];
    const { cos_TE, sin_TE } = this.ropeFor(length);
    const bias_BPP = prefixBias(lengths, batch, length);
    const layers: PrefixCache['layers'] = [];
    let h_BPD = inputs_BPD;
    this.weights.layers.forEach((layer, index) => {
      h_BPD = this.block(h_BPD, layer, bias_BPP, cos_TE, sin_TE, opts, index, { keep: (k_BKPE, v_BKPE) => layers.push({ k_BKPE, v_BKPE }) });
    });
    return { hidden_BPD: rmsNorm(h_BPD, this.weights.finalNorm_D, this.dims.rmsEps), cache: { layers, lengths, length } };
  }

  /**
   * Final hidden states [B, S, D] of continuations of cached prefixes: row b's S positions
   * (right-padded, `mask_BS`) sit at positions lengths[b]… and attend to its prefix and to
   * themselves causally — the hidden states the whole sequence would give in `forward`, to
   * float rounding (the products have other shapes).
   */
  extend(inputs_BSD: Tensor, mask_BS: Int32Array, cache: PrefixCache, opts: ForwardOptions = {}): Tensor {
    const [batch, length] = inputs_BSD.shape as [number, number, number];
    const positions = new Int32Array(batch * length);
    for (let b = 0; b < batch; b++) for (let s = 0; s < length; s++) positions[b * length + s] = cache.lengths[b]! + s;
    const { cos_TE, sin_TE } = this.ropeFor(cache.length + length);
    const at = tf.tensor1d(positions, 'int32');
    const e = this.dims.headSize;
    // Per-row positions: the tables' rows gathered to [B, 1, S, E], broadcast over heads.
    const cos_B1SE = tf.gather(cos_TE, at).reshape([batch, 1, length, e]);
    const sin_B1SE = tf.gather(sin_TE, at).reshape([batch, 1, length, e]);
    const bias_BSX = continuationBias(cache.lengths, cache.length, mask_BS, batch, length);
    let h_BSD = inputs_BSD;
    this.weights.layers.forEach((layer, index) => {
      h_BSD = this.block(h_BSD, layer, bias_BSX, cos_B1SE, sin_B1SE, opts, index, { past: cache.layers[index] });
    });
    return rmsNorm(h_BSD, this.weights.finalNorm_D, this.dims.rmsEps);
  }

  private block(x_BTD: Tensor, layer: Qwen2Layer, bias_BTS: Tensor, cos_TE: Tensor, sin_TE: Tensor, opts: ForwardOptions, index: number, cache: BlockCache = {}): Tensor {
    const { heads, kvHeads, rmsEps } = this.dims;
    const salt = index * 16;
    const normed_BTD = rmsNorm(x_BTD, layer.inputNorm_D, rmsEps);
    const q_BHTE = applyRope(splitHeads(linear(normed_BTD, layer.q, opts, salt + 1), heads), cos_TE, sin_TE);
    const k_BKTE = applyRope(splitHeads(linear(normed_BTD, layer.k, opts, salt + 2), kvHeads), cos_TE, sin_TE);
    const v_BKTE = splitHeads(linear(normed_BTD, layer.v, opts, salt + 3), kvHeads);
    cache.keep?.(k_BKTE, v_BKTE);
    // With a cached prefix the keys are [prefix; own] (S = P + T), which bias_BTS is laid out for.
    const k_BKSE = cache.past ? tf.concat([cache.past.k_BKPE, k_BKTE], 2) : k_BKTE;
    const v_BKSE = cache.past ? tf.concat([cache.past.v_BKPE, v_BKTE], 2) : v_BKTE;
    const attn_BTD = mergeHeads(groupedAttention(q_BHTE, k_BKSE, v_BKSE, bias_BTS));
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
