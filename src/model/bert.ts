/**
 * @module model/bert
 * The BERT encoder exactly as transformers' `BertModel` computes it (post-LN blocks, exact erf
 * GELU, absolute position and token-type embeddings), with gte's masked mean pooling. One
 * encoder turns each rendered behaviour record into one vector (paper §3.3.1). Its weights are
 * frozen, so the trainer runs it once per step outside the gradient tape.
 *
 * Legend: N records (the encoder's batch), L tokens, C hidden, H heads.
 */
import { tf, type Tensor } from '../backend/tf.js';
import { geluExact, groupedAttention, layerNorm, linear, mergeHeads, paddingBias, splitHeads, type Linear } from './layers.js';

export interface BertDims {
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
  typeVocab: number;
  layerNormEps: number;
}

export interface BertLayer {
  query: Linear;
  key: Linear;
  value: Linear;
  attnOut: Linear;
  attnNorm: { weight_C: Tensor; bias_C: Tensor };
  intermediate: Linear;
  output: Linear;
  outNorm: { weight_C: Tensor; bias_C: Tensor };
}

export interface BertWeights {
  wordEmbed_VC: Tensor;
  positionEmbed_PC: Tensor;
  typeEmbed_YC: Tensor;
  embedNorm: { weight_C: Tensor; bias_C: Tensor };
  layers: BertLayer[];
}

export class BertEncoder {
  readonly dims: BertDims;
  readonly weights: BertWeights;

  constructor(dims: BertDims, weights: BertWeights) {
    this.dims = dims;
    this.weights = weights;
  }

  /** HF `last_hidden_state` [N, L, C] for token ids [N, L] with a padding mask (token types all 0 unless given). */
  forward(ids_NL: Int32Array, mask_NL: Int32Array, rows: number, length: number, typeIds_NL?: Int32Array): Tensor {
    const w = this.weights;
    const { layerNormEps, heads } = this.dims;
    const ids = tf.tensor2d(ids_NL, [rows, length], 'int32');
    const positions_LC = w.positionEmbed_PC.slice([0, 0], [length, -1]);
    // Without token types every position adds type row 0: broadcast it instead of gathering N·L copies.
    const types_NLC = typeIds_NL
      ? tf.gather(w.typeEmbed_YC, tf.tensor2d(typeIds_NL, [rows, length], 'int32'))
      : w.typeEmbed_YC.slice([0, 0], [1, -1]);
    const embedded_NLC = tf.gather(w.wordEmbed_VC, ids).add(positions_LC).add(types_NLC);
    let h_NLC = layerNorm(embedded_NLC, w.embedNorm.weight_C, w.embedNorm.bias_C, layerNormEps);
    const bias_NLL = paddingBias(mask_NL, rows, length);
    for (const layer of w.layers) {
      const q = splitHeads(linear(h_NLC, layer.query), heads);
      const k = splitHeads(linear(h_NLC, layer.key), heads);
      const v = splitHeads(linear(h_NLC, layer.value), heads);
      const attn_NLC = linear(mergeHeads(groupedAttention(q, k, v, bias_NLL)), layer.attnOut);
      h_NLC = layerNorm(tf.add(h_NLC, attn_NLC), layer.attnNorm.weight_C, layer.attnNorm.bias_C, layerNormEps);
      const mlp_NLC = linear(geluExact(linear(h_NLC, layer.intermediate)), layer.output);
      h_NLC = layerNorm(tf.add(h_NLC, mlp_NLC), layer.outNorm.weight_C, layer.outNorm.bias_C, layerNormEps);
    }
    return h_NLC;
  }

  /** gte pooling: mean of the last hidden states over real tokens, [N, C] (not normalised). */
  meanPool(hidden_NLC: Tensor, mask_NL: Int32Array, rows: number, length: number): Tensor {
    const weights = new Float32Array(rows * length);
    for (let n = 0; n < rows; n++) {
      let count = 0;
      for (let l = 0; l < length; l++) count += mask_NL[n * length + l]!;
      for (let l = 0; l < length; l++) weights[n * length + l] = mask_NL[n * length + l]! / Math.max(count, 1);
    }
    const w_N1L = tf.tensor3d(weights, [rows, 1, length]);
    return tf.matMul(w_N1L, hidden_NLC).reshape([rows, this.dims.hidden]);
  }

  /** Token ids (each starting with [CLS], ending with [SEP]) → pooled vectors [N, C]. */
  encode(sequences: number[][], padId: number): Tensor {
    const rows = sequences.length;
    const length = Math.max(1, ...sequences.map((s) => s.length));
    const ids = new Int32Array(rows * length).fill(padId);
    const mask = new Int32Array(rows * length);
    sequences.forEach((seq, n) => {
      seq.forEach((id, l) => {
        ids[n * length + l] = id;
        mask[n * length + l] = 1;
      });
    });
    return tf.tidy(() => this.meanPool(this.forward(ids, mask, rows, length), mask, rows, length));
  }
}
