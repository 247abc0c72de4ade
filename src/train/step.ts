/**
 * @module train/step
 * One optimizer step of contrastive–autoregressive training (paper Eq. 5), exact for any
 * number of workers (DESIGN.md §3.2). Read top to bottom:
 *
 * 1. prepare: lay out the local micro-batch and run the frozen encoder once.
 * 2. pass 1 (no gradient): local user embeddings U_l (at <USER>, prompt only) and answer
 *    embeddings A_l.
 * 3. gather: every rank's U, A and LM token count → the global U, A (B×D) on every rank.
 * 4. contrastive loss on the global batch and its gradient dU, dA for every row; keep the
 *    rows of this rank (GradCache: the loss is cheap, so every rank recomputes it).
 * 5. pass 2 (gradient): recompute the local forward with the answers appended and take the
 *    gradient of Σ⟨U_l, dU_l⟩ + Σ⟨A_l, dA_l⟩ + α_lm · NLL_l / (global answer tokens).
 * 6. all-reduce (sum) the flat gradient; clip the global norm; the identical AdamW update on
 *    every rank, so replicas stay equal without broadcasting weights.
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
import { flatLayout, flattenGradients, readFlat, writeFlat, type FlatLayout } from './flat.js';
import { contrastiveValueAndGrads, type ContrastiveOptions } from './losses.js';
import { learningRate, type ScheduleConfig } from './schedule.js';

export interface StepConfig {
  alphaLm: number;
  alphaCl: number;
  contrastive: ContrastiveOptions;
  schedule: ScheduleConfig;
  gradClip: number;
  adamw: AdamWConfig;
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

/** Host copy of a [rows, D] tensor. */
function host(t: Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

export class Stepper {
  readonly layout: FlatLayout;
  private readonly optimizer: AdamW;
  private params: Float32Array;

  constructor(readonly model: InstructUE, readonly config: StepConfig) {
    this.layout = flatLayout(model.store);
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
   * Runs one step on this rank's samples (possibly none in an epoch's tail) in the world of
   * `comm`. `signals` ride along with the gradient all-reduce and come back summed over ranks,
   * so every rank learns, at the same step, that some rank asked to pause (the stop flag of a
   * checkpointed stop).
   */
  async run(local: EncodedSample[], comm: StepComm, signals: Float32Array = new Float32Array(0)): Promise<StepResult> {
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
    const batch: PreparedBatch | null = local.length > 0 ? model.prepare(local, { withAnswer: useLm }) : null;
    try {
      const lmTokens = batch?.full ? batch.full.lmLabels.length : 0;
      lap('prepare');

      // 2. pass 1: embeddings without gradient
      let userLocal: Float32Array = new Float32Array(0);
      let answerLocal: Float32Array = new Float32Array(0);
      if (batch && useCl) {
        tf.tidy(() => {
          userLocal = host(model.userForward(batch, { withAnswer: false }).user_BD);
          answerLocal = host(model.answerForward(batch));
        });
      }
      lap('pass1');

      // 3. gather the global batch (U rows, A rows, LM token count per rank)
      const parts = await comm.allGather(step, 'embeddings', concatArrays([userLocal, answerLocal, Float32Array.of(lmTokens)]));
      const rowsPerRank = parts.map((p) => (p.length - 1) / (2 * d));
      const globalBatch = rowsPerRank.reduce((a, b) => a + b, 0);
      const globalTokens = parts.reduce((n, p) => n + p[p.length - 1]!, 0);
      const myOffset = rowsPerRank.slice(0, comm.rank).reduce((a, b) => a + b, 0);
      lap('gather');

      // 4. global contrastive loss; gradient rows of this rank
      let lossCl: number | null = null;
      let dUserLocal: Tensor | null = null;
      let dAnswerLocal: Tensor | null = null;
      if (useCl && globalBatch > 0) {
        const u = concatArrays(parts.map((p, r) => p.subarray(0, rowsPerRank[r]! * d)));
        const a = concatArrays(parts.map((p, r) => p.subarray(rowsPerRank[r]! * d, 2 * rowsPerRank[r]! * d)));
        const b = local.length;
        [dUserLocal, dAnswerLocal] = tf.tidy(() => {
          const out = contrastiveValueAndGrads(tf.tensor2d(u, [globalBatch, d]), tf.tensor2d(a, [globalBatch, d]), config.contrastive);
          lossCl = out.loss;
          const scale = config.alphaCl;
          return [out.dUser_BD.slice([myOffset, 0], [b, d]).mul(scale), out.dAnswer_BD.slice([myOffset, 0], [b, d]).mul(scale)];
        });
      }
      lap('loss');

      // 5. pass 2: local backward of the surrogate objective
      let grads = new Map<string, Float32Array>();
      let nllSum = 0;
      if (batch) {
        ({ grads, nllSum } = this.localGradients(batch, dUserLocal, dAnswerLocal, globalTokens));
      }
      tf.dispose([dUserLocal, dAnswerLocal].filter((x): x is Tensor => x !== null));
      lap('pass2');

      // 6. all-reduce the gradient (the LM loss sum and the control signals ride along)
      const flat = flattenGradients(this.layout, grads, 1 + signals.length);
      flat[this.layout.total] = nllSum;
      flat.set(signals, this.layout.total + 1);
      const summed = await comm.allReduceSum(step, 'gradients', flat);
      lap('allReduce');

      const gradient = summed.slice(0, this.layout.total);
      const gradNorm = clipGlobalNorm(gradient, config.gradClip);
      const lr = learningRate(config.schedule, step);
      this.optimizer.update(this.params, gradient, lr);
      writeFlat(model.store, this.layout, this.params);
      lap('optimizer');

      const lossLm = useLm && globalTokens > 0 ? summed[this.layout.total]! / globalTokens : null;
      const loss = config.alphaLm * (lossLm ?? 0) + config.alphaCl * (lossCl ?? 0);
      const tokens = batch ? sumMask(batch.full ?? batch.prompt) + sumMask(batch.answers) : 0;
      const signalSums = summed.slice(this.layout.total + 1);
      return { step, lossLm, lossCl, loss, lr, gradNorm, globalBatch, tokens, signals: signalSums, timings: t };
    } finally {
      batch?.dispose();
    }
  }

  /** Gradient of ⟨U, dU⟩ + ⟨A, dA⟩ + α_lm·NLL/N_global with respect to every trainable tensor. */
  private localGradients(batch: PreparedBatch, dUser: Tensor | null, dAnswer: Tensor | null, globalTokens: number): { grads: Map<string, Float32Array>; nllSum: number } {
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
    const out = new Map<string, Float32Array>();
    for (const [name, g] of Object.entries(grads)) out.set(model.store.nameOf(name), host(g));
    const nllSum = nll ? host(nll)[0]! : 0;
    tf.dispose([value, ...Object.values(grads), ...(nll ? [nll] : [])]);
    return { grads: out, nllSum };
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
