/**
 * @module train/step
 * One optimizer step of contrastive–autoregressive training (paper Eq. 5), exact for any
 * number of workers (DESIGN.md §3.2). A rank gets whole micro-batches of the global batch (their
 * partition does not depend on the world size, src/train/micro-batches.ts). Read top to bottom:
 *
 * 1. prepare: lay out each micro-batch and run the frozen encoder once.
 * 2. pass 1 (no gradient): user embeddings U (at <USER>, prompt only) and answer embeddings A of
 *    every local micro-batch.
 * 3. gather: every rank's U, A, LM token count and micro-batch count → the global U, A (B×D).
 * 4. contrastive loss on the global batch and its gradient dU, dA for every row; keep the rows
 *    of this rank (GradCache: the loss is cheap, so every rank recomputes it).
 * 5. pass 2 (gradient), one micro-batch at a time (memory does not grow with the batch): the
 *    gradient of Σ⟨U, dU⟩ + Σ⟨A, dA⟩ + α_lm · NLL / (global answer tokens).
 * 6. sum the micro-batch gradients over all ranks — exactly (`train.exact_sum`,
 *    src/train/exact-sum.ts: the same bits for any grouping of the terms) or in float32 rank
 *    order —, clip the global norm, and take the identical AdamW step on every rank, so replicas
 *    stay equal without broadcasting weights.
 *
 * With one worker the gather and the sum are identities (LocalComm); nothing else changes.
 * The cluster (`StepComm`) is an argument of each step: a rank's membership epoch can change
 * between steps.
 */
import { performance } from 'node:perf_hooks';
import { tf, type Tensor } from '../backend/tf.js';
import type { EncodedSample } from '../data/types.js';
import type { InstructUE, PreparedBatch } from '../model/instructue.js';
import { AdamW, clipGlobalNorm, type AdamWConfig } from './adamw.js';
import { concatArrays, type StepComm } from './comm.js';
import type { Segment } from './exact-sum.js';
import { flatLayout, flattenGradients, readFlat, writeFlat, type FlatLayout } from './flat.js';
import { sumGradients } from './gradient-sum.js';
import { contrastiveValueAndGrads, idsCode, instructionCode, type ContrastiveOptions } from './losses.js';
import { learningRate, type ScheduleConfig } from './schedule.js';

export interface StepConfig {
  alphaLm: number;
  alphaCl: number;
  contrastive: ContrastiveOptions;
  schedule: ScheduleConfig;
  gradClip: number;
  adamw: AdamWConfig;
  /** Sum gradients exactly (the same bits for any world size), or in float32 rank order. */
  exactSum: boolean;
}

export interface StepTimings {
  prepare: number;
  pass1: number;
  gather: number;
  loss: number;
  pass2: number;
  allReduce: number;
  optimizer: number;
}

export interface StepResult {
  step: number;
  /** Mean next-token loss over the global batch's answer tokens (null when α_lm = 0). */
  lossLm: number | null;
  /** Contrastive loss of the global batch (null when α_cl = 0). */
  lossCl: number | null;
  loss: number;
  lr: number;
  gradNorm: number;
  globalBatch: number;
  /** Real (non-padding) decoder positions processed by this rank. */
  tokens: number;
  /** The control signals of all ranks, summed (see `run`). */
  signals: Float32Array;
  timings: StepTimings;
}

/** The stepper's share of the training state (`TrainState` without the data position). */
export interface StepperState {
  /** Optimizer steps taken. */
  step: number;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** Host copy of a tensor, read asynchronously (webgpu has no synchronous reads in Node). */
async function host(t: Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

export class Stepper {
  readonly layout: FlatLayout;
  private readonly optimizer: AdamW;
  private params: Float32Array;

  /** The scale segments of the exact sum: every tensor, then the LM loss sum. */
  private readonly segments: Segment[];

  constructor(readonly model: InstructUE, readonly config: StepConfig) {
    this.layout = flatLayout(model.store);
    this.segments = [...this.layout.offsets.map((offset, i) => ({ offset, size: this.layout.sizes[i]! })), { offset: this.layout.total, size: 1 }];
    this.optimizer = new AdamW(this.layout.total, config.adamw);
    this.params = readFlat(model.store, this.layout);
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.optimizer.step;
  }

  /** The current trainable values (the master copy the optimizer updates). */
  get parameters(): Float32Array {
    return this.params;
  }

  /**
   * Runs one step on this rank's micro-batches (possibly none in an epoch's tail) in the world
   * of `comm`. `signals` ride along with the gradient sum and come back summed over ranks, so
   * every rank learns, at the same step, that some rank asked to pause.
   */
  async run(chunks: EncodedSample[][], comm: StepComm, signals: Float32Array = new Float32Array(0)): Promise<StepResult> {
    const { model, config } = this;
    const step = this.step + 1;
    const d = model.hidden;
    const t: StepTimings = { prepare: 0, pass1: 0, gather: 0, loss: 0, pass2: 0, allReduce: 0, optimizer: 0 };
    let mark = performance.now();
    const lap = (key: keyof StepTimings) => {
      const now = performance.now();
      t[key] += now - mark;
      mark = now;
    };

    // 1. prepare
    const useCl = config.alphaCl > 0;
    const useLm = config.alphaLm > 0;
    const batches: PreparedBatch[] = [];
    try {
      for (const chunk of chunks) if (chunk.length > 0) batches.push(model.prepare(chunk, { withAnswer: useLm }));
      const lmTokens = batches.reduce((n, b) => n + (b.full ? b.full.lmLabels.length : 0), 0);
      const rows = batches.reduce((n, b) => n + b.samples.length, 0);
      lap('prepare');

      // 2. pass 1: embeddings without gradient, micro-batch by micro-batch
      const userParts: Float32Array[] = [];
      const answerParts: Float32Array[] = [];
      if (useCl) {
        for (const batch of batches) {
          const [user_BD, answer_BD] = tf.tidy(() => [model.userForward(batch, { withAnswer: false }).user_BD, model.answerForward(batch)]);
          try {
            const [u, a] = await Promise.all([host(user_BD!), host(answer_BD!)]);
            userParts.push(u);
            answerParts.push(a);
          } finally {
            tf.dispose([user_BD!, answer_BD!]);
          }
        }
      }
      lap('pass1');

      // 3. gather the global batch (U rows, A rows, instruction codes, answer codes, LM token
      //    count and micro-batch count per rank)
      const codesOf = (f: (x: PreparedBatch['samples'][number]) => number) => (useCl ? Float32Array.from(batches.flatMap((b) => b.samples.map(f))) : new Float32Array(0));
      const codes = codesOf((x) => instructionCode(x.instruction));
      const answerCodes = codesOf((x) => idsCode(x.answer));
      const parts = await comm.allGather(step, 'embeddings', concatArrays([...userParts, ...answerParts, codes, answerCodes, Float32Array.of(lmTokens, batches.length)]));
      const rowsPerRank = parts.map((p) => (p.length - 2) / (2 * d + 2));
      const globalBatch = rowsPerRank.reduce((a, b) => a + b, 0);
      const globalTokens = parts.reduce((n, p) => n + p[p.length - 2]!, 0);
      const globalChunks = parts.reduce((n, p) => n + p[p.length - 1]!, 0);
      const myOffset = rowsPerRank.slice(0, comm.rank).reduce((a, b) => a + b, 0);
      lap('gather');

      // 4. global contrastive loss; gradient rows of this rank
      let lossCl: number | null = null;
      let dUser: Tensor | null = null;
      let dAnswer: Tensor | null = null;
      if (useCl && globalBatch > 0) {
        const u = concatArrays(parts.map((p, r) => p.subarray(0, rowsPerRank[r]! * d)));
        const a = concatArrays(parts.map((p, r) => p.subarray(rowsPerRank[r]! * d, 2 * rowsPerRank[r]! * d)));
        const topics = concatArrays(parts.map((p, r) => p.subarray(2 * rowsPerRank[r]! * d, rowsPerRank[r]! * (2 * d + 1))));
        const answers = concatArrays(parts.map((p, r) => p.subarray(rowsPerRank[r]! * (2 * d + 1), rowsPerRank[r]! * (2 * d + 2))));
        const uT = tf.tensor2d(u, [globalBatch, d]);
        const aT = tf.tensor2d(a, [globalBatch, d]);
        try {
          const out = await contrastiveValueAndGrads(uT, aT, config.contrastive, { step, topics, answers });
          lossCl = out.loss;
          const scale = config.alphaCl;
          [dUser, dAnswer] = tf.tidy(() => [out.dUser_BD.slice([myOffset, 0], [rows, d]).mul(scale), out.dAnswer_BD.slice([myOffset, 0], [rows, d]).mul(scale)]);
          tf.dispose([out.dUser_BD, out.dAnswer_BD]);
        } finally {
          tf.dispose([uT, aT]);
        }
      }
      lap('loss');

      // 5. pass 2: local backward of the surrogate objective, one micro-batch at a time
      const terms: Float32Array[] = [];
      let row = 0;
      for (const batch of batches) {
        const n = batch.samples.length;
        const slice = (g: Tensor | null) => (g ? tf.keep(g.slice([row, 0], [n, d])) : null);
        const [dU, dA] = [slice(dUser), slice(dAnswer)];
        terms.push(await this.localGradients(batch, dU, dA, globalTokens));
        tf.dispose([dU, dA].filter((x): x is Tensor => x !== null));
        row += n;
      }
      tf.dispose([dUser, dAnswer].filter((x): x is Tensor => x !== null));
      lap('pass2');

      // 6. sum over micro-batches and ranks (the LM loss sum and the control signals ride along)
      const summed = await sumGradients(terms, this.layout.total + 1, signals, { comm, step, exact: config.exactSum, segments: this.segments, globalTerms: globalChunks });
      lap('allReduce');

      const gradient = summed.values.slice(0, this.layout.total);
      const gradNorm = clipGlobalNorm(gradient, config.gradClip);
      const lr = learningRate(config.schedule, step);
      this.optimizer.update(this.params, gradient, lr);
      writeFlat(model.store, this.layout, this.params);
      lap('optimizer');

      const lossLm = useLm && globalTokens > 0 ? summed.values[this.layout.total]! / globalTokens : null;
      const loss = config.alphaLm * (lossLm ?? 0) + config.alphaCl * (lossCl ?? 0);
      const tokens = batches.reduce((n, b) => n + sumMask(b.full ?? b.prompt) + sumMask(b.answers), 0);
      return { step, lossLm, lossCl, loss, lr, gradNorm, globalBatch, tokens, signals: summed.signals, timings: t };
    } finally {
      for (const b of batches) b.dispose();
    }
  }

  /**
   * One micro-batch's gradient of ⟨U, dU⟩ + ⟨A, dA⟩ + α_lm·NLL/N_global with respect to every
   * trainable tensor, flat, with the micro-batch's NLL sum appended.
   */
  private async localGradients(batch: PreparedBatch, dUser: Tensor | null, dAnswer: Tensor | null, globalTokens: number): Promise<Float32Array> {
    const { model, config } = this;
    const useLm = config.alphaLm > 0;
    let nll: Tensor | null = null;
    const objective = () => {
      const user = model.userForward(batch, { withAnswer: useLm });
      let total: Tensor = tf.scalar(0);
      if (dUser && dAnswer) {
        total = tf.add(tf.sum(tf.mul(user.user_BD, dUser)), tf.sum(tf.mul(model.answerForward(batch), dAnswer)));
      }
      if (useLm && user.lmNllSum) {
        nll = tf.keep(user.lmNllSum.clone());
        total = tf.add(total, tf.mul(user.lmNllSum, config.alphaLm / globalTokens));
      }
      return total as tf.Scalar;
    };
    const { value, grads } = tf.variableGrads(objective, model.store.trainableVariables());
    try {
      const entries = Object.entries(grads);
      const values = await Promise.all(entries.map(([, g]) => host(g)));
      const byName = new Map<string, Float32Array>(entries.map(([name], i) => [model.store.nameOf(name), values[i]!]));
      const flat = flattenGradients(this.layout, byName, 1);
      flat[this.layout.total] = nll ? (await host(nll))[0]! : 0;
      return flat;
    } finally {
      tf.dispose([value, ...Object.values(grads), ...(nll ? [nll] : [])]);
    }
  }

  /** A copy of the trainable values and the optimizer's state. */
  state(): StepperState {
    const { step, m, v } = this.optimizer.toState();
    return { step, params: this.params.slice(), m, v };
  }

  /** Restores the optimizer and sets the trainable values (copied). */
  load(state: StepperState): void {
    if (state.params.length !== this.layout.total) throw new Error(`the state has ${state.params.length} trainable values, the model ${this.layout.total}`);
    this.optimizer.fromState({ step: state.step, m: state.m, v: state.v });
    this.params = state.params.slice();
    writeFlat(this.model.store, this.layout, this.params);
  }
}

function sumMask(layout: { mask: Int32Array }): number {
  let n = 0;
  for (let i = 0; i < layout.mask.length; i++) n += layout.mask[i]!;
  return n;
}
