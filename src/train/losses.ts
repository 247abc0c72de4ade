/**
 * @module train/losses
 * The paper's losses (§3.3.2–3.3.3):
 * - contrastive InfoNCE with same-side negatives and the false-negative mask (Eq. 2–4),
 * - the next-token loss normaliser (Eq. 1: mean over the answer tokens of the global batch),
 * - the prototype loss of instruction tuning (Eq. 6).
 * Masks are computed on the host from the cosine scores, outside the differentiated function
 * (tfjs has no gradient for comparisons, and the mask is a constant of the step anyway).
 *
 * Legend: B global batch, D embedding width, K classes.
 */
import { tf, type Tensor } from '../backend/tf.js';
import { MASKED } from '../model/layers.js';

export interface ContrastiveOptions {
  tau: number;
  margin: number;
  userAnswer: boolean;
  userUser: boolean;
  answerAnswer: boolean;
}

/** Row-wise L2 normalisation (cosine similarity = dot product of normalised rows). */
export function l2Normalize(x_BD: Tensor): Tensor {
  return tf.div(x_BD, tf.sqrt(tf.sum(tf.square(x_BD), -1, true)).add(1e-12));
}

/** Plain-array cosine matrix of row-normalised a [B, D] and b [B, D] (read asynchronously: webgpu has no synchronous reads). */
async function cosines(a_BD: Tensor, b_BD: Tensor): Promise<Float32Array> {
  const c_BB = tf.tidy(() => tf.matMul(l2Normalize(a_BD), tf.transpose(l2Normalize(b_BD))));
  try {
    return (await c_BB.data()) as Float32Array;
  } finally {
    c_BB.dispose();
  }
}

/**
 * The additive masks [B, B] for the three negative blocks (0 = kept, MASKED = dropped): the
 * diagonal of u–a is the positive (kept), the diagonals of u–u and a–a are the samples
 * themselves (dropped), and m_ij = 0 where a negative's cosine exceeds the positive's by more
 * than the margin (Eq. 4; applied to all three blocks, as Qwen3-Embedding does).
 */
export async function contrastiveMasks(user_BD: Tensor, answer_BD: Tensor, opts: ContrastiveOptions): Promise<{ ua: Float32Array; uu: Float32Array; aa: Float32Array }> {
  const b = user_BD.shape[0]!;
  const [ua, uu, aa] = await Promise.all([cosines(user_BD, answer_BD), cosines(user_BD, user_BD), cosines(answer_BD, answer_BD)]);
  const out = { ua: new Float32Array(b * b), uu: new Float32Array(b * b), aa: new Float32Array(b * b) };
  for (let i = 0; i < b; i++) {
    const threshold = ua[i * b + i]! + opts.margin;
    for (let j = 0; j < b; j++) {
      const k = i * b + j;
      if (i === j) {
        out.uu[k] = MASKED;
        out.aa[k] = MASKED;
        continue;
      }
      if (!opts.userAnswer || ua[k]! > threshold) out.ua[k] = MASKED;
      if (!opts.userUser || uu[k]! > threshold) out.uu[k] = MASKED;
      if (!opts.answerAnswer || aa[k]! > threshold) out.aa[k] = MASKED;
    }
  }
  return out;
}

/**
 * L_cl = −(1/B) Σ_i log( e^{s_ii} / Z_i ) with s = cos/τ and Z_i the sum over the positive and
 * the kept negatives u_i–a_j, u_i–u_j, a_i–a_j (Eq. 2–3). Differentiable in user/answer.
 */
export function contrastiveLoss(user_BD: Tensor, answer_BD: Tensor, masks: { ua: Float32Array; uu: Float32Array; aa: Float32Array }, tau: number): tf.Scalar {
  return tf.tidy(() => {
    const b = user_BD.shape[0]!;
    const u = l2Normalize(user_BD);
    const a = l2Normalize(answer_BD);
    const mask = (m: Float32Array) => tf.tensor2d(m, [b, b]);
    const ua = tf.add(tf.matMul(u, tf.transpose(a)).div(tau), mask(masks.ua));
    const uu = tf.add(tf.matMul(u, tf.transpose(u)).div(tau), mask(masks.uu));
    const aa = tf.add(tf.matMul(a, tf.transpose(a)).div(tau), mask(masks.aa));
    const logZ = tf.logSumExp(tf.concat([ua, uu, aa], 1), 1);
    const positive = tf.sum(tf.mul(u, a), 1).div(tau);
    return tf.mean(tf.sub(logZ, positive)) as tf.Scalar;
  });
}

/**
 * The loss and its gradient with respect to every row of U and A — what each worker computes
 * on the gathered global batch before back-propagating its own rows (DESIGN.md §3.2 step 4).
 */
export async function contrastiveValueAndGrads(user_BD: Tensor, answer_BD: Tensor, opts: ContrastiveOptions): Promise<{ loss: number; dUser_BD: Tensor; dAnswer_BD: Tensor }> {
  const masks = await contrastiveMasks(user_BD, answer_BD, opts);
  const { value, grads } = tf.valueAndGrads((u: Tensor, a: Tensor) => contrastiveLoss(u, a, masks, opts.tau))([user_BD, answer_BD]);
  const loss = (await value.data())[0]!;
  value.dispose();
  return { loss, dUser_BD: grads[0]!, dAnswer_BD: grads[1]! };
}

/**
 * Prototype loss (Eq. 6): p_k = mean of the user embeddings of class k in the batch,
 * L_pt = −(1/B) Σ_i log softmax_k(cos(u_i, p_k)/τ)[l_i]. Prototypes are differentiable (they
 * are computed inside the closure), as in the paper's formulation.
 */
export function prototypeLoss(user_BD: Tensor, labels: Int32Array, classes: number, tau: number): tf.Scalar {
  return tf.tidy(() => {
    const b = user_BD.shape[0]!;
    const counts = new Float32Array(classes);
    labels.forEach((l) => counts[l]!++);
    const assign = new Float32Array(classes * b);
    labels.forEach((l, i) => (assign[l * b + i] = 1 / counts[l]!));
    const prototypes_KD = tf.matMul(tf.tensor2d(assign, [classes, b]), user_BD);
    const logits_BK = tf.matMul(l2Normalize(user_BD), tf.transpose(l2Normalize(prototypes_KD))).div(tau);
    const present = Array.from(counts, (c) => (c > 0 ? 0 : MASKED));
    const logProbs_BK = tf.logSoftmax(tf.add(logits_BK, tf.tensor1d(present)));
    const target_BK = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
    return tf.neg(tf.sum(tf.mul(logProbs_BK, target_BK))).div(b) as tf.Scalar;
  });
}
