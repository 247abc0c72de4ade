/**
 * @module train/losses
 * The paper's losses (§3.3.2–3.3.3):
 * - contrastive InfoNCE with same-side negatives and the false-negative mask (Eq. 2–4),
 * - the next-token loss normaliser (Eq. 1: mean over the answer tokens of the global batch),
 * - the prototype loss of instruction tuning (Eq. 6).
 * Masks are computed on the host from the cosine scores, outside the differentiated function
 * (tfjs has no gradient for comparisons, and the mask is a constant of the step anyway). Two
 * options keep the contrastive task about the user: negatives of another instruction can be
 * dropped (with mixed batches the instruction alone tells the answer's template), and the
 * false-negative mask can wait for a warm-up or compare against the batch's own distribution
 * of similarities (on a random backbone every same-side cosine exceeds every user–answer
 * cosine, so Eq. 4 as written drops all same-side negatives from the first step).
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
  /**
   * The false-negative mask (Eq. 4): `eq4` compares cosines (s_ij > s_ii + margin); `relative`
   * compares each block's cosines standardised by that block's own off-diagonal mean and std
   * (margin in std units); `off` keeps every negative. Default eq4.
   */
  mask?: 'eq4' | 'relative' | 'off';
  /** Steps (1-based) up to this one use no false-negative mask (default 0). */
  maskWarmupSteps?: number;
  /** `same_instruction`: only negatives whose instruction equals the anchor's are kept (default all). */
  negatives?: 'all' | 'same_instruction';
  /**
   * Subtract the batch mean of U and of A before the cosines (default false). A random
   * backbone puts every embedding near one shared direction (the <USER> / <ANSWER> row
   * dominates the state), so raw cosines tell pairs apart only at second order in the small
   * user-dependent part and the loss sits at chance (ln B) without moving; centred, the
   * user-dependent parts meet at first order. The mean is over the global batch, which every
   * worker holds, so the loss and its gradient stay exact for any world size.
   */
  center?: boolean;
  /**
   * Drop every negative pair whose answers are the same text (needs `ctx.answers`; default
   * false). Template answers repeat ("The user has low purchasing power."), most of all in
   * same-instruction batches: such a pair is a certain false negative (a_j equals a_i), and
   * with centred scores its a–a cosine is exactly 1, which would swamp the loss.
   */
  dropDuplicateAnswers?: boolean;
}

/** Per-step facts the masks depend on. */
export interface ContrastiveContext {
  /** The optimizer step being taken (1-based), for the mask warm-up. */
  step?: number;
  /** One instruction code per row (equal codes = same instruction); needed by negatives = same_instruction. */
  topics?: Float32Array;
  /** One answer code per row (`idsCode` of the answer ids); needed by dropDuplicateAnswers. */
  answers?: Float32Array;
}

/**
 * A sample's instruction code for `negatives: same_instruction`: 0 without an instruction, else
 * 1 + a 23-bit FNV-1a hash of its token ids (exact in float32, which carries it in the gather).
 */
export function instructionCode(ids: readonly number[] | null): number {
  return ids === null ? 0 : idsCode(ids);
}

/** 1 + a 23-bit FNV-1a hash of token ids (exact in float32; equal ids, equal codes). */
export function idsCode(ids: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const id of ids) {
    h ^= id & 0xffff;
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= id >>> 16;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return 1 + (h & 0x7fffff);
}

/** Rows minus their mean over the batch (the `center` option). */
export function centerRows(x_BD: Tensor): Tensor {
  return tf.tidy(() => tf.sub(x_BD, tf.mean(x_BD, 0, true)));
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

/** Mean and std of the off-diagonal entries of a [B, B] block (population std; 1 when flat). */
function offDiagonalStats(c: Float32Array, b: number): { mean: number; std: number } {
  let sum = 0;
  let squares = 0;
  const n = b * (b - 1);
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) if (i !== j) sum += c[i * b + j]!;
  const mean = n > 0 ? sum / n : 0;
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) if (i !== j) squares += (c[i * b + j]! - mean) ** 2;
  const std = n > 0 ? Math.sqrt(squares / n) : 0;
  return { mean, std: std > 1e-6 ? std : 1 };
}

/**
 * The additive masks [B, B] for the three negative blocks (0 = kept, MASKED = dropped): the
 * diagonal of u–a is the positive (kept), the diagonals of u–u and a–a are the samples
 * themselves (dropped), and m_ij = 0 where a negative's cosine exceeds the positive's by more
 * than the margin (Eq. 4; applied to all three blocks, as Qwen3-Embedding does). With
 * `mask: 'relative'` the comparison is between standardised scores, each block by its own
 * off-diagonal mean and std, the positive by the u–a block's. With `negatives:
 * 'same_instruction'` every pair of different instruction codes is dropped too.
 */
export async function contrastiveMasks(user_BD: Tensor, answer_BD: Tensor, opts: ContrastiveOptions, ctx: ContrastiveContext = {}): Promise<{ ua: Float32Array; uu: Float32Array; aa: Float32Array }> {
  const b = user_BD.shape[0]!;
  const [uc, ac] = opts.center ? [centerRows(user_BD), centerRows(answer_BD)] : [user_BD, answer_BD];
  const [ua, uu, aa] = await Promise.all([cosines(uc, ac), cosines(uc, uc), cosines(ac, ac)]).finally(() => {
    if (opts.center) tf.dispose([uc, ac]);
  });
  const out = { ua: new Float32Array(b * b), uu: new Float32Array(b * b), aa: new Float32Array(b * b) };
  const warm = (ctx.step ?? Infinity) <= (opts.maskWarmupSteps ?? 0);
  const mode = warm ? 'off' : opts.mask ?? 'eq4';
  const sameOnly = opts.negatives === 'same_instruction';
  if (sameOnly && (!ctx.topics || ctx.topics.length !== b)) throw new Error(`negatives = same_instruction needs one instruction code per row (${b})`);
  const dedupe = opts.dropDuplicateAnswers === true;
  if (dedupe && (!ctx.answers || ctx.answers.length !== b)) throw new Error(`dropDuplicateAnswers needs one answer code per row (${b})`);
  // Scores the mask compares: raw cosines (Eq. 4) or per-block standard scores.
  const standardise = (c: Float32Array) => {
    if (mode !== 'relative') return c;
    const { mean, std } = offDiagonalStats(c, b);
    return Float32Array.from(c, (x) => (x - mean) / std);
  };
  const [zua, zuu, zaa] = [standardise(ua), standardise(uu), standardise(aa)];
  const uaStats = mode === 'relative' ? offDiagonalStats(ua, b) : { mean: 0, std: 1 };
  for (let i = 0; i < b; i++) {
    const threshold = (ua[i * b + i]! - uaStats.mean) / uaStats.std + opts.margin;
    for (let j = 0; j < b; j++) {
      const k = i * b + j;
      if (i === j) {
        out.uu[k] = MASKED;
        out.aa[k] = MASKED;
        continue;
      }
      const other = (sameOnly && ctx.topics![i] !== ctx.topics![j]) || (dedupe && ctx.answers![i] === ctx.answers![j]);
      const masks = mode !== 'off';
      if (!opts.userAnswer || other || (masks && zua[k]! > threshold)) out.ua[k] = MASKED;
      if (!opts.userUser || other || (masks && zuu[k]! > threshold)) out.uu[k] = MASKED;
      if (!opts.answerAnswer || other || (masks && zaa[k]! > threshold)) out.aa[k] = MASKED;
    }
  }
  return out;
}

/**
 * L_cl = −(1/B) Σ_i log( e^{s_ii} / Z_i ) with s = cos/τ and Z_i the sum over the positive and
 * the kept negatives u_i–a_j, u_i–u_j, a_i–a_j (Eq. 2–3). Differentiable in user/answer
 * (through the batch mean too, with `center`).
 */
export function contrastiveLoss(user_BD: Tensor, answer_BD: Tensor, masks: { ua: Float32Array; uu: Float32Array; aa: Float32Array }, tau: number, center = false): tf.Scalar {
  return tf.tidy(() => {
    const b = user_BD.shape[0]!;
    const u = l2Normalize(center ? tf.sub(user_BD, tf.mean(user_BD, 0, true)) : user_BD);
    const a = l2Normalize(center ? tf.sub(answer_BD, tf.mean(answer_BD, 0, true)) : answer_BD);
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
export async function contrastiveValueAndGrads(user_BD: Tensor, answer_BD: Tensor, opts: ContrastiveOptions, ctx: ContrastiveContext = {}): Promise<{ loss: number; dUser_BD: Tensor; dAnswer_BD: Tensor }> {
  const masks = await contrastiveMasks(user_BD, answer_BD, opts, ctx);
  const { value, grads } = tf.valueAndGrads((u: Tensor, a: Tensor) => contrastiveLoss(u, a, masks, opts.tau, opts.center ?? false))([user_BD, answer_BD]);
  const loss = (await value.data())[0]!;
  value.dispose();
  return { loss, dUser_BD: grads[0]!, dAnswer_BD: grads[1]! };
}

/**
 * Prototype loss (Eq. 6): p_k = mean of the user embeddings of class k in the batch,
 * L_pt = −(1/B) Σ_i log softmax_k(cos(u_i, p_k)/τ)[l_i]. Prototypes are differentiable (they
 * are computed inside the closure), as in the paper's formulation. With `center`, the batch's
 * mean embedding is subtracted first (as `train.center` does for Eq. 2): the states of a
 * from-scratch model share one large direction, and raw cosines to both prototypes are then
 * all ≈ 1, which leaves the loss at ln 2 with almost no gradient.
 */
export function prototypeLoss(user_BD: Tensor, labels: Int32Array, classes: number, tau: number, center = false): tf.Scalar {
  return tf.tidy(() => {
    const b = user_BD.shape[0]!;
    if (center) user_BD = tf.sub(user_BD, tf.mean(user_BD, 0, true));
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
