/**
 * @module model/instructue
 * The InstructUE model (paper §3.3.1, Fig. 2–3), read top to bottom:
 *
 * 1. `prepare`: lay the batch out (src/model/layout.ts) and, when the encoder is frozen, run it
 *    once over every behaviour record (one record → one vector): no gradient flows into it, so
 *    its output is a constant of the step and both passes of the train step reuse it.
 * 2. `softPool`: the trainable inputs — special-token rows, learned instruction vectors, and the
 *    per-source adapters (single linear layers) applied to record vectors and tabular features.
 *    A trainable encoder (`model.train_encoder`) runs here instead, so it is inside the gradient
 *    pass of the step (and, without a tape, inside pass 1's plain forward).
 * 3. `decoderInputs`: frozen token embeddings where the layout has tokens, soft-pool rows where it
 *    has soft tokens.
 * 4. `userForward`: the Qwen2 decoder (LoRA inside); the user embedding is the final hidden state
 *    at <USER> (or the masked mean over the prompt, an ablation); with the answer appended
 *    (teacher forcing) it also returns the summed next-token NLL of the answer tokens.
 * 5. `answerForward`: the same backbone over "answer <ANSWER>"; the hidden state at <ANSWER> is
 *    the answer embedding.
 *
 * Legend: B batch, T length, D decoder width, C encoder width, N records, P soft-pool rows,
 * F tabular features, Y tabular feature width, M LM target rows, V vocab, k instruction vectors.
 */
import { tf, type Tensor } from '../backend/tf.js';
import { ConfigError } from '../errors.js';
import { SOURCE_NAMES, type EncodedSample, type SourceName } from '../data/types.js';
import type { BertEncoder } from './bert.js';
import { linear, type ForwardOptions, type Linear } from './layers.js';
import { layoutAnswers, layoutContinuations, layoutPrompts, type LayoutOptions, type PromptLayout, type SequenceLayout } from './layout.js';
import type { ParameterStore } from './parameters.js';
import type { Qwen2Decoder } from './qwen2.js';

export interface InstructUEOptions {
  pooling: 'user_token' | 'mean';
  textOnly: boolean;
  useSequences: boolean;
  useTabular: boolean;
  tabularFeatures: number;
  tabularDim: number;
  preambleIds: number[];
  instructionPrefixIds: number[];
  eosId: number;
  padId: number;
  encoderPadId: number;
  /** The encoder trains: it runs in `softPool` (under the caller's tape), not once in `prepare`. */
  trainEncoder: boolean;
  /** The LM loss starts at <USER> (it predicts answer[0]); false: at answer[0] (predicting answer[1]). */
  lmFromUser: boolean;
}

export interface InstructUEParts {
  decoder: Qwen2Decoder;
  /** null in the text-only ablation (no encoders). */
  encoder: BertEncoder | null;
  store: ParameterStore;
  /** Trainable input rows of SPECIAL_TOKENS [S, D]. */
  special_SD: tf.Variable;
  /** Per-source adapters C → D and the tabular adapter Y → D (absent when unused). */
  adapters: Partial<Record<SourceName | 'tabular', Linear>>;
  options: InstructUEOptions;
}

/** A laid-out batch with its (constant) encoder outputs; dispose after the step. */
export interface PreparedBatch {
  samples: EncodedSample[];
  prompt: PromptLayout;
  /** Same prompts with the answers appended (only when prepared with answers). */
  full: PromptLayout | null;
  answers: SequenceLayout;
  /** Encoder vectors of `prompt.records` when they are constants of the step (frozen encoder); null = none or computed in the forward. */
  records_NC: Tensor | null;
  tabular_BFY: Tensor | null;
  instructionVectors: number;
  dispose(): void;
}

export interface UserForwardResult {
  user_BD: Tensor;
  /** Σ −log p(target) over the answer tokens and eos (present with answers). */
  lmNllSum?: Tensor;
  lmTokens: number;
}

export class InstructUE {
  readonly decoder: Qwen2Decoder;
  readonly encoder: BertEncoder | null;
  readonly store: ParameterStore;
  readonly options: InstructUEOptions;
  private readonly special_SD: tf.Variable;
  private readonly adapters: Partial<Record<SourceName | 'tabular', Linear>>;

  constructor(parts: InstructUEParts) {
    this.decoder = parts.decoder;
    this.encoder = parts.encoder;
    this.store = parts.store;
    this.options = parts.options;
    this.special_SD = parts.special_SD;
    this.adapters = parts.adapters;
  }

  get hidden(): number {
    return this.decoder.dims.hidden;
  }

  /** Step 1: layouts and the frozen encoder pass. `instructionVectors` = k learned vectors to place. */
  prepare(samples: EncodedSample[], opts: { withAnswer: boolean; instructionVectors?: number }): PreparedBatch {
    const o = this.options;
    const k = opts.instructionVectors ?? 0;
    const layoutOpts: LayoutOptions = {
      preambleIds: o.preambleIds, instructionPrefixIds: o.instructionPrefixIds, useSequences: o.useSequences,
      useTabular: o.useTabular, textOnly: o.textOnly, tabularFeatures: o.tabularFeatures, instructionVectors: k,
      withAnswer: false, eosId: o.eosId, padId: o.padId, lmFromUser: o.lmFromUser,
    };
    const prompt = layoutPrompts(samples, layoutOpts);
    const full = opts.withAnswer ? layoutPrompts(samples, { ...layoutOpts, withAnswer: true }) : null;
    const longest = (full ?? prompt).length;
    this.checkPositions(longest, true); // names every length key, answers included, as training needs
    const records_NC = this.encoder && !o.trainEncoder && prompt.records.length > 0 ? tf.keep(this.encoder.encode(prompt.records, o.encoderPadId)) : null;
    let tabular_BFY: Tensor | null = null;
    if (o.useTabular && !o.textOnly) {
      const data = new Float32Array(samples.length * o.tabularFeatures * o.tabularDim);
      samples.forEach((s, b) => data.set(s.tabular, b * o.tabularFeatures * o.tabularDim));
      tabular_BFY = tf.keep(tf.tensor3d(data, [samples.length, o.tabularFeatures, o.tabularDim]));
    }
    return {
      samples, prompt, full, answers: layoutAnswers(samples, o.padId), records_NC, tabular_BFY, instructionVectors: k,
      dispose: () => tf.dispose([records_NC, tabular_BFY].filter((t): t is Tensor => t !== null)),
    };
  }

  /** Refuses a sequence of `longest` positions that the decoder cannot place, naming the keys that shorten it. */
  checkPositions(longest: number, namingAnswers: boolean): void {
    if (longest <= this.decoder.dims.maxPositions) return;
    const keys = namingAnswers ? 'max_instruction_tokens / max_answer_tokens / max_text_tokens' : 'max_instruction_tokens / max_text_tokens';
    throw new ConfigError(`a sequence of ${longest} positions exceeds model.decoder.max_positions (${this.decoder.dims.maxPositions}): raise it, or lower data.max_records_per_source / ${keys}`);
  }

  /** Step 2: the trainable soft-pool rows [P, D] in layout order. */
  private softPool(batch: PreparedBatch, instruction_kD?: Tensor): Tensor {
    const parts: Tensor[] = [this.special_SD];
    if (batch.instructionVectors > 0) {
      if (!instruction_kD || instruction_kD.shape[0] !== batch.instructionVectors) {
        throw new Error(`batch was prepared for ${batch.instructionVectors} instruction vectors`);
      }
      parts.push(instruction_kD);
    }
    const records_NC = batch.records_NC ?? (this.encoder && batch.prompt.records.length > 0 ? this.encoder.encode(batch.prompt.records, this.options.encoderPadId) : null);
    if (records_NC) {
      let offset = 0;
      for (const source of SOURCE_NAMES) {
        const { count } = batch.prompt.recordRowsBySource[source];
        if (count === 0) continue;
        parts.push(linear(records_NC.slice([offset, 0], [count, -1]), this.adapters[source]!));
        offset += count;
      }
    }
    if (batch.tabular_BFY) {
      const [b, f, y] = batch.tabular_BFY.shape as [number, number, number];
      parts.push(linear(batch.tabular_BFY.reshape([b * f, y]), this.adapters.tabular!));
    }
    return tf.concat(parts, 0);
  }

  /** Step 3: input embeddings [B, T, D]: frozen token rows, or soft-pool rows (row 0 = zeros). */
  private decoderInputs(layout: SequenceLayout, pool_PD: Tensor): Tensor {
    const { batch, length } = layout;
    const ids_BT = tf.tensor2d(layout.tokenIds, [batch, length], 'int32');
    const isToken_BT1 = tf.tensor3d(layout.isToken, [batch, length, 1]);
    const tokens_BTD = tf.mul(this.decoder.embed(ids_BT), isToken_BT1);
    const padded_PD = tf.concat([tf.zeros([1, this.hidden]), pool_PD], 0);
    const soft_BTD = tf.gather(padded_PD, tf.tensor2d(layout.softIndex, [batch, length], 'int32'));
    return tf.add(tokens_BTD, soft_BTD);
  }

  /** Rows b·T + pos[b] of hidden [B, T, D] → [B, D]. */
  private pick(hidden_BTD: Tensor, layout: SequenceLayout): Tensor {
    const { batch, length } = layout;
    const rows = Int32Array.from(layout.embedPos, (p, b) => b * length + p);
    return tf.gather(hidden_BTD.reshape([batch * length, this.hidden]), tf.tensor1d(rows, 'int32'));
  }

  /** Masked mean of hidden states over positions 0..embedPos (the prompt, <USER> included). */
  private meanOverPrompt(hidden_BTD: Tensor, layout: SequenceLayout): Tensor {
    const { batch, length } = layout;
    const weights = new Float32Array(batch * length);
    for (let b = 0; b < batch; b++) {
      const n = layout.embedPos[b]! + 1;
      for (let t = 0; t < n; t++) weights[b * length + t] = 1 / n;
    }
    return tf.matMul(tf.tensor3d(weights, [batch, 1, length]), hidden_BTD).reshape([batch, this.hidden]);
  }

  /** Step 4: user embeddings [B, D]; with `withAnswer`, also the answer tokens' summed NLL. */
  userForward(batch: PreparedBatch, opts: { withAnswer: boolean; instruction_kD?: Tensor; forward?: ForwardOptions }): UserForwardResult {
    const layout = opts.withAnswer ? batch.full : batch.prompt;
    if (!layout) throw new Error('batch was prepared without answers');
    const pool_PD = this.softPool(batch, opts.instruction_kD);
    const hidden_BTD = this.decoder.forward(this.decoderInputs(layout, pool_PD), layout.mask, opts.forward);
    const user_BD = this.options.pooling === 'mean' ? this.meanOverPrompt(hidden_BTD, layout) : this.pick(hidden_BTD, layout);
    if (!opts.withAnswer) return { user_BD, lmTokens: 0 };
    const full = layout as PromptLayout;
    const rows_MD = tf.gather(hidden_BTD.reshape([full.batch * full.length, this.hidden]), tf.tensor1d(full.lmRows, 'int32'));
    const logProbs_MV = tf.logSoftmax(this.decoder.logits(rows_MD));
    const targets_MV = tf.oneHot(tf.tensor1d(full.lmLabels, 'int32'), logProbs_MV.shape[1]!);
    const lmNllSum = tf.neg(tf.sum(tf.mul(logProbs_MV, targets_MV)));
    return { user_BD, lmNllSum, lmTokens: full.lmLabels.length };
  }

  /**
   * Step 4 for several instructions at once (inference, `user_token` pooling): user embeddings
   * [B, D] per variant. The part of the prompt every instruction shares — preamble, behaviour and
   * tabular sections, i.e. the universal prompt `prefix` up to its <USER> — goes through the
   * decoder once; each variant's continuation (its rows' instruction text and learned vectors,
   * then <USER>) attends to the cached keys and values. Equal, to float rounding, to `userForward`
   * of the batch prepared with each variant's instructions.
   */
  usersFromSharedPrefix(prefix: PreparedBatch, variants: Array<{ samples: EncodedSample[]; instruction_kD: Tensor | null }>): Tensor[] {
    const o = this.options;
    if (o.pooling !== 'user_token') throw new Error(`usersFromSharedPrefix needs pooling user_token, not ${o.pooling}`);
    if (prefix.instructionVectors > 0 || prefix.samples.some((s) => s.instruction !== null)) throw new Error('the shared prefix must be the universal prompt (no instruction)');
    // The universal prompt's <USER> sits where an instruction would begin: its position is the prefix length.
    const lengths = prefix.prompt.embedPos;
    const length = Math.max(...lengths);
    const inputs_BPD = this.decoderInputs(prefix.prompt, this.softPool(prefix)).slice([0, 0, 0], [-1, length, -1]);
    const { cache } = this.decoder.prefill(inputs_BPD, lengths);
    return variants.map((v) => {
      const k = v.instruction_kD?.shape[0] ?? 0;
      const layout = layoutContinuations(v.samples, { instructionPrefixIds: o.instructionPrefixIds, instructionVectors: k, padId: o.padId });
      const longest = Math.max(...Array.from(lengths, (p, b) => p + layout.embedPos[b]! + 1));
      this.checkPositions(longest, false);
      const pool_PD = k > 0 ? tf.concat([this.special_SD, v.instruction_kD!], 0) : this.special_SD;
      return this.pick(this.decoder.extend(this.decoderInputs(layout, pool_PD), layout.mask, cache), layout);
    });
  }

  /** Step 5: answer embeddings [B, D] (hidden state at <ANSWER>). */
  answerForward(batch: PreparedBatch, forward?: ForwardOptions): Tensor {
    const layout = batch.answers;
    const hidden_BTD = this.decoder.forward(this.decoderInputs(layout, this.special_SD), layout.mask, forward);
    return this.pick(hidden_BTD, layout);
  }

  dispose(): void {
    this.decoder.disposeCaches();
    this.store.dispose();
  }
}
