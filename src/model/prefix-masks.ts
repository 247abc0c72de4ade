/**
 * @module model/prefix-masks
 * Additive attention biases for running a decoder in two parts, a batch of prefixes once and
 * then continuations of them (src/model/qwen2.ts `prefill` / `extend`): the same visibility the
 * whole sequence has under `causalPaddingBias`, split at each row's own prefix length.
 */
import { tf, type Tensor } from '../backend/tf.js';
import { MASKED } from './layers.js';

/** Bias [B, P, P] of right-padded prefixes: key j visible to query i when j ≤ i and j < lengths[b]. */
export function prefixBias(lengths: Int32Array, batch: number, length: number): Tensor {
  const bias = new Float32Array(batch * length * length);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < length; i++) {
      const row = (b * length + i) * length;
      for (let j = 0; j < length; j++) if (j > i || j >= lengths[b]!) bias[row + j] = MASKED;
    }
  }
  return tf.tensor3d(bias, [batch, length, length]);
}

/**
 * Bias [B, S, P + S] of continuations: query s of row b sees the first lengths[b] of the P cached
 * prefix keys and its own keys s' ≤ s that are not padding (mask_BS).
 */
export function continuationBias(lengths: Int32Array, prefix: number, mask_BS: Int32Array, batch: number, length: number): Tensor {
  const width = prefix + length;
  const bias = new Float32Array(batch * length * width);
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < length; s++) {
      const row = (b * length + s) * width;
      for (let j = 0; j < prefix; j++) if (j >= lengths[b]!) bias[row + j] = MASKED;
      for (let j = 0; j < length; j++) if (j > s || mask_BS[b * length + j] === 0) bias[row + prefix + j] = MASKED;
    }
  }
  return tf.tensor3d(bias, [batch, length, width]);
}
