/**
 * @module eval/retrieval
 * Shortcut-free retrieval: does the user embedding find its own answer among answers of other
 * users when nothing but the user can tell them apart? Held-out records (training format:
 * profile, instruction, answer) are embedded as in training — u with the record's instruction,
 * a from the answer — and cut into seeded batches of B three ways:
 * - `noInstruction`: general records only (the universal embedding's case);
 * - `sameTopic`: records of one instruction per batch (the answer template is the same for all);
 * - `mixed`: all records together, as training batches are by default — where an instruction
 *   alone can name its answer's template, so a model can score well here without the user.
 * Per batch: top-1 (argmax_j cos(u_i, a_j) has u_i's answer text; identical answers count as
 * hits) and L_cl (Eq. 2–3 with same-side negatives, no false-negative mask); with `center`, the
 * cosines are those of the batch-centred rows, as a model trained with train.center is scored. Chance levels:
 * top-1 of a random pick (duplicates included), and ln(3B − 2) for L_cl (all scores equal).
 * Standard errors are over batches. A falling training L_cl with chance-level `noInstruction`
 * and `sameTopic` scores is the contrastive shortcut.
 *
 * Legend: N records, B batch, D embedding width.
 */
import { tf } from '../backend/tf.js';
import { encodeSample, type EncodeContext } from '../data/collate.js';
import type { Sample } from '../data/types.js';
import type { InstructUE } from '../model/instructue.js';
import { Rng } from '../util/rng.js';

export interface RetrievalOptions {
  context: EncodeContext;
  /** Records per retrieval batch (the number of candidates). */
  batch: number;
  /** Temperature of L_cl (train.tau). */
  tau: number;
  /** Seed of the batch draws. */
  seed: number | string;
  /** Records per forward pass (default 32). */
  embedBatch?: number;
  /** Centre each batch's U and A before scoring, as training does with train.center (default false). */
  center?: boolean;
}

/** One kind of batch: means over its batches, standard errors over batches, and chance levels. */
export interface RetrievalScore {
  batches: number;
  top1: number;
  top1SE: number;
  chanceTop1: number;
  loss: number;
  lossSE: number;
  chanceLoss: number;
}

export interface RetrievalResult {
  batch: number;
  records: number;
  noInstruction: RetrievalScore | null;
  sameTopic: RetrievalScore | null;
  mixed: RetrievalScore | null;
}

/** Unit-normalised user and answer embeddings [N, D] of the records (instruction as recorded). */
export function embedPairs(model: InstructUE, samples: Sample[], context: EncodeContext, embedBatch = 32): { u: Float32Array; a: Float32Array; d: number } {
  const d = model.hidden;
  const u = new Float32Array(samples.length * d);
  const a = new Float32Array(samples.length * d);
  for (let start = 0; start < samples.length; start += embedBatch) {
    const encoded = samples.slice(start, start + embedBatch).map((s) => encodeSample(s, context));
    const batch = model.prepare(encoded, { withAnswer: false });
    try {
      const [ub, ab] = tf.tidy(() => [model.userForward(batch, { withAnswer: false }).user_BD.dataSync() as Float32Array, model.answerForward(batch).dataSync() as Float32Array]);
      u.set(ub!, start * d);
      a.set(ab!, start * d);
    } finally {
      batch.dispose();
    }
  }
  for (const x of [u, a]) {
    for (let i = 0; i < samples.length; i++) {
      let n = 0;
      for (let k = 0; k < d; k++) n += x[i * d + k]! ** 2;
      const inv = 1 / (Math.sqrt(n) + 1e-12);
      for (let k = 0; k < d; k++) x[i * d + k]! *= inv;
    }
  }
  return { u, a, d };
}

function dot(x: Float32Array, i: number, y: Float32Array, j: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += x[i * d + k]! * y[j * d + k]!;
  return s;
}

function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((acc, x) => acc + Math.exp(x - m), 0));
}

/** The batch's rows of x [N, D], minus their mean, unit-normalised: [B, D] (the `center` option). */
function centred(x: Float32Array, rows: number[], d: number): Float32Array {
  const out = new Float32Array(rows.length * d);
  const mean = new Float64Array(d);
  for (const i of rows) for (let k = 0; k < d; k++) mean[k]! += x[i * d + k]! / rows.length;
  rows.forEach((i, r) => {
    let n = 0;
    for (let k = 0; k < d; k++) n += (out[r * d + k] = x[i * d + k]! - mean[k]!) ** 2;
    const inv = 1 / (Math.sqrt(n) + 1e-12);
    for (let k = 0; k < d; k++) out[r * d + k]! *= inv;
  });
  return out;
}

/** Top-1, chance top-1 and L_cl of one batch of record indices. */
function scoreBatch(batchRows: number[], e: { u: Float32Array; a: Float32Array; d: number }, allAnswers: string[], tau: number, center: boolean): { top1: number; chance: number; loss: number } {
  const d = e.d;
  // Centred: the batch's rows re-indexed 0..B−1; else the rows as given.
  const [u, a, rows, answers] = center
    ? [centred(e.u, batchRows, d), centred(e.a, batchRows, d), batchRows.map((_, r) => r), batchRows.map((i) => allAnswers[i]!)]
    : [e.u, e.a, batchRows, allAnswers];
  let hits = 0;
  let chance = 0;
  let loss = 0;
  for (const i of rows) {
    let best = -Infinity;
    let bestJ = -1;
    const terms: number[] = [];
    for (const j of rows) {
      const ua = dot(u, i, a, j, d);
      if (ua > best) {
        best = ua;
        bestJ = j;
      }
      terms.push(ua / tau);
      if (j !== i) terms.push(dot(u, i, u, j, d) / tau, dot(a, i, a, j, d) / tau);
    }
    if (answers[bestJ] === answers[i]) hits++;
    chance += rows.filter((j) => answers[j] === answers[i]).length / rows.length;
    loss += logSumExp(terms) - dot(u, i, a, i, d) / tau;
  }
  return { top1: hits / rows.length, chance: chance / rows.length, loss: loss / rows.length };
}

function meanSE(xs: number[]): [number, number] {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) : 0;
  return [m, Math.sqrt(v / xs.length)];
}

/** Full batches of B cut from each group of record indices, after a seeded shuffle of each group. */
function batchesOf(groups: number[][], b: number, rng: Rng): number[][] {
  const out: number[][] = [];
  for (const group of groups) {
    const order = rng.shuffle(group.slice());
    for (let i = 0; i + b <= order.length; i += b) out.push(order.slice(i, i + b));
  }
  return out;
}

function score(batches: number[][], e: { u: Float32Array; a: Float32Array; d: number }, answers: string[], tau: number, center: boolean): RetrievalScore | null {
  if (batches.length === 0) return null;
  const per = batches.map((rows) => scoreBatch(rows, e, answers, tau, center));
  const [top1, top1SE] = meanSE(per.map((p) => p.top1));
  const [loss, lossSE] = meanSE(per.map((p) => p.loss));
  const b = batches[0]!.length;
  return { batches: batches.length, top1, top1SE, chanceTop1: meanSE(per.map((p) => p.chance))[0], loss, lossSE, chanceLoss: Math.log(3 * b - 2) };
}

/** The three retrieval scores of `model` on held-out training-format records. */
export function retrievalScores(model: InstructUE, samples: Sample[], opts: RetrievalOptions): RetrievalResult {
  return retrievalOfEmbeddings(embedPairs(model, samples, opts.context, opts.embedBatch), samples, opts);
}

/** The three retrieval scores of unit-normalised pair embeddings (rows in the order of `samples`). */
export function retrievalOfEmbeddings(e: { u: Float32Array; a: Float32Array; d: number }, samples: ReadonlyArray<Pick<Sample, 'record'>>, opts: Pick<RetrievalOptions, 'batch' | 'tau' | 'seed' | 'center'>): RetrievalResult {
  const center = opts.center ?? false;
  const answers = samples.map((s) => s.record.answer);
  const general: number[] = [];
  const byInstruction = new Map<string, number[]>();
  samples.forEach((s, i) => {
    const instruction = s.record.instruction;
    if (instruction === null || instruction === undefined) general.push(i);
    else byInstruction.set(instruction, [...(byInstruction.get(instruction) ?? []), i]);
  });
  const topics = [...byInstruction.keys()].sort().map((k) => byInstruction.get(k)!);
  const rng = (kind: string) => new Rng(opts.seed, 'retrieval', kind);
  return {
    batch: opts.batch,
    records: samples.length,
    noInstruction: score(batchesOf([general], opts.batch, rng('general')), e, answers, opts.tau, center),
    sameTopic: score(batchesOf(topics, opts.batch, rng('topic')), e, answers, opts.tau, center),
    mixed: score(batchesOf([samples.map((_, i) => i)], opts.batch, rng('mixed')), e, answers, opts.tau, center),
  };
}
