/**
 * @module eval/instruction-tuning
 * Few-shot instruction tuning (paper §3.3.3, Eq. 6): k instruction vectors placed before <USER>
 * are fitted with the prototype loss on K labelled users per class, everything else frozen (the
 * gradient is taken with respect to the instruction variable alone). The vectors start as the
 * token embeddings of a hand-written instruction, so tuning starts from the manual instruction
 * (exactly, when k equals its token count) and can only move away from it where the labels say so.
 *
 * Full-batch steps over the shots with host AdamW (no weight decay): deterministic for a seed.
 *
 * Legend: B shots, D decoder width, k instruction vectors.
 */
import { tf } from '../backend/tf.js';
import { encodeSample, type EncodeContext } from '../data/collate.js';
import type { EncodedSample, Sample } from '../data/types.js';
import { UsageError } from '../errors.js';
import type { InstructUE } from '../model/instructue.js';
import { AdamW } from '../train/adamw.js';
import { prototypeLoss } from '../train/losses.js';
import { Rng } from '../util/rng.js';
import { embedEncoded, instructionTensor, withInstruction } from './embed.js';
import { sampleByUserHash } from './labelled-samples.js';
import type { InstructionTokens } from './instruction-tokens-file.js';

/**
 * Defaults of `instructue tune-instruction`, also used by `instructue report`. With 10–30 shots
 * per class, k·D free numbers fit the shots quickly; lr 0.01 × 30 steps overfit (shot loss near 0,
 * held-out loss above the written instruction's) where lr 0.003 × 30 steps lowered the held-out
 * loss in every scenario tried (docs/results.md shows the report's).
 */
export const TUNE_DEFAULTS = { steps: 30, lr: 0.003, seed: 1 } as const;

export interface TuneOptions {
  steps: number;
  lr: number;
  /** Temperature of Eq. 6. */
  tau: number;
  /** Eq. 6 on batch-centred embeddings (pass the model's `train.center`). */
  center?: boolean;
  /** Called after each step with (step, loss before the step). */
  onStep?: (step: number, loss: number) => void;
  /**
   * Early stopping: Eq. 6 on these users (never shots, never probed) before the first step and
   * after every `every` steps; the vectors kept are those of the lowest value (the earliest on a
   * tie, so the initial vectors when no step helps).
   */
  validation?: TuneValidation;
}

export interface TuneValidation {
  encoded: EncodedSample[];
  labels: Int32Array;
  every: number;
}

export interface TuneResult {
  tokens: InstructionTokens;
  /** Loss on the shots before each step, then after the last one (steps + 1 values). */
  losses: number[];
  /** With `validation`: the steps it was measured after (0 = the initial vectors), its values, and the step kept. */
  validation?: { steps: number[]; losses: number[]; best: number };
}

/** A labelled sample for one scenario. */
export interface LabelledSample {
  sample: Sample;
  label: 0 | 1;
}

/**
 * Vectors [k, D] from the frozen token embeddings of `ids`, cycled (or truncated) to k rows:
 * the soft-prompt form of a written instruction.
 */
export function instructionVectorsFromIds(model: InstructUE, ids: number[], k: number): InstructionTokens {
  if (ids.length === 0) throw new UsageError('the initial instruction has no tokens; pass a non-empty --init-instruction');
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`--tokens must be a positive integer; got ${k}`);
  const cycled = Int32Array.from({ length: k }, (_, i) => ids[i % ids.length]!);
  const vectors = tf.tidy(() => model.decoder.embed(tf.tensor1d(cycled, 'int32')).dataSync() as Float32Array);
  return { vectors, k, d: model.hidden };
}

/**
 * K users of each class drawn without replacement by `seed` (a seeded shuffle per class), the
 * rest held out. Both lists keep file order within a class, negatives first.
 * @throws UsageError when a class has fewer than `shots` users.
 */
export function drawShots(labelled: LabelledSample[], shots: number, seed: number | string): { shots: LabelledSample[]; heldOut: LabelledSample[] } {
  if (!Number.isInteger(shots) || shots < 1) throw new UsageError(`--shots must be a positive integer; got ${shots}`);
  const picked = new Set<number>();
  for (const label of [0, 1] as const) {
    const rows = labelled.flatMap((l, i) => (l.label === label ? [i] : []));
    if (rows.length < shots) throw new UsageError(`only ${rows.length} labelled users have label ${label}; --shots ${shots} needs at least ${shots} per class`);
    const rng = new Rng(seed, 'shots', label);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    rows.slice(0, shots).forEach((r) => picked.add(r));
  }
  const order = (l: LabelledSample[]) => [...l.filter((x) => x.label === 0), ...l.filter((x) => x.label === 1)];
  return { shots: order(labelled.filter((_, i) => picked.has(i))), heldOut: order(labelled.filter((_, i) => !picked.has(i))) };
}

/**
 * The prototype loss (Eq. 6, prototypes from these users) of `encoded` with the given
 * instruction vectors, or with none (the samples' own instruction text). Embeddings are computed
 * in batches of `batch` (the loss itself needs them all at once).
 */
export function prototypeLossOf(model: InstructUE, encoded: EncodedSample[], labels: Int32Array, tokens: InstructionTokens | null, tau: number, center = false, batch = 32): number {
  const instruction_kD = tokens ? instructionTensor(model, tokens) : null;
  try {
    const user = new Float32Array(encoded.length * model.hidden);
    for (let i = 0; i < encoded.length; i += batch) user.set(embedEncoded(model, encoded.slice(i, i + batch), instruction_kD), i * model.hidden);
    return tf.tidy(() => prototypeLoss(tf.tensor2d(user, [encoded.length, model.hidden]), labels, 2, tau, center).dataSync()[0]!);
  } finally {
    instruction_kD?.dispose();
  }
}

/** Fits the instruction vectors on the shots (encoded without instruction text; labels 0/1). */
export function tuneInstruction(model: InstructUE, shots: EncodedSample[], labels: Int32Array, init: InstructionTokens, opts: TuneOptions): TuneResult {
  if (!labels.includes(0) || !labels.includes(1)) throw new UsageError('instruction tuning needs shots of both classes');
  const check = opts.validation;
  if (check && (!Number.isInteger(check.every) || check.every < 1)) throw new UsageError(`the validation interval must be a positive integer; got ${check.every}`);
  const params = init.vectors.slice();
  // tidy disposes the initial tensor; the variable keeps its own reference to the values.
  const instruction_kD = tf.tidy(() => tf.variable(tf.tensor2d(params, [init.k, init.d]), true));
  const adam = new AdamW(params.length, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const batch = model.prepare(shots, { withAnswer: false, instructionVectors: init.k });
  const losses: number[] = [];
  const validation = check ? { steps: [] as number[], losses: [] as number[], best: 0 } : undefined;
  // The vectors of the lowest validation loss so far: the initial ones until a step beats them.
  let kept = params.slice();
  let keptLoss = Infinity;
  const validate = (step: number) => {
    if (!check || !validation || (step % check.every !== 0 && step !== opts.steps)) return;
    const loss = prototypeLossOf(model, check.encoded, check.labels, { vectors: params, k: init.k, d: init.d }, opts.tau, opts.center);
    validation.steps.push(step);
    validation.losses.push(loss);
    if (loss < keptLoss) {
      keptLoss = loss;
      validation.best = step;
      kept = params.slice();
    }
  };
  try {
    const objective = () => prototypeLoss(model.userForward(batch, { withAnswer: false, instruction_kD }).user_BD, labels, 2, opts.tau, opts.center);
    validate(0);
    for (let step = 1; step <= opts.steps; step++) {
      const { value, grads } = tf.variableGrads(objective, [instruction_kD]);
      const loss = value.dataSync()[0]!;
      const grad = grads[instruction_kD.name]!.dataSync() as Float32Array;
      tf.dispose([value, ...Object.values(grads)]);
      losses.push(loss);
      adam.update(params, grad, opts.lr);
      tf.tidy(() => instruction_kD.assign(tf.tensor2d(params, [init.k, init.d])));
      opts.onStep?.(step, loss);
      validate(step);
    }
    losses.push(tf.tidy(() => objective().dataSync()[0]!));
  } finally {
    batch.dispose();
    instruction_kD.dispose();
  }
  return { tokens: { vectors: validation ? kept : params, k: init.k, d: init.d }, losses, ...(validation ? { validation } : {}) };
}

/** What `tuneScenario` needs beyond the optimiser settings. */
export interface ScenarioTuneOptions extends TuneOptions {
  context: EncodeContext;
  /** Labelled users per class used for tuning. */
  shots: number;
  seed: number;
  /** Text whose token embeddings initialise the vectors (normally the manual instruction). */
  initInstruction: string;
  /** k (default: the token count of `initInstruction`, so tuning starts exactly at it). */
  tokens?: number;
  /** Early stopping on this many non-shot users (hash-chosen; 0 or absent: none, the last step's vectors are kept). */
  validationUsers?: number;
  /** Steps between validations (default 10). */
  validationEvery?: number;
}

export interface ScenarioTuneResult extends TuneResult {
  init: InstructionTokens;
  shotIds: string[];
  /** The labelled users neither used as shots nor for early stopping. */
  heldOut: LabelledSample[];
  /** The early-stopping users (empty without `validationUsers`). */
  validationSet: LabelledSample[];
}

const labelsOf = (l: LabelledSample[]) => Int32Array.from(l, (x) => x.label);

/** Draws the shots, initialises from the written instruction and tunes (the CLI and report entry point). */
export function tuneScenario(model: InstructUE, labelled: LabelledSample[], opts: ScenarioTuneOptions): ScenarioTuneResult {
  const { shots, heldOut: rest } = drawShots(labelled, opts.shots, opts.seed);
  const ids = opts.context.decoderTokenizer.encode(opts.initInstruction).slice(0, opts.context.maxInstructionTokens);
  const init = instructionVectorsFromIds(model, ids, opts.tokens ?? ids.length);
  // The vectors replace the instruction text: users are laid out as "Instruction: v_1 … v_k <USER>".
  const encode = (users: LabelledSample[]) => users.map((s) => encodeSample(withInstruction(s.sample, null), opts.context));
  const validationSet = opts.validationUsers ? sampleByUserHash(rest, opts.validationUsers, `validation/${opts.seed}`) : [];
  const inValidation = new Set(validationSet);
  const validation = validationSet.length > 0 ? { encoded: encode(validationSet), labels: labelsOf(validationSet), every: opts.validationEvery ?? 10 } : undefined;
  if (validation && (!validation.labels.includes(0) || !validation.labels.includes(1))) throw new UsageError(`the ${validationSet.length} early-stopping users need both classes; raise the number of validation users`);
  const result = tuneInstruction(model, encode(shots), labelsOf(shots), init, { ...opts, validation });
  return { ...result, init, shotIds: shots.map((s) => s.sample.record.user_id), heldOut: rest.filter((u) => !inValidation.has(u)), validationSet };
}

/** Eq. 6 on `users` embedded with the written instruction vs with the tuned vectors (same users, same prototypes rule). */
export function compareOnUsers(model: InstructUE, context: EncodeContext, users: LabelledSample[], manualInstruction: string, tuned: InstructionTokens, tau: number, center = false): { manual: number; tuned: number } {
  const labels = labelsOf(users);
  return {
    manual: prototypeLossOf(model, users.map((u) => encodeSample(withInstruction(u.sample, manualInstruction), context)), labels, null, tau, center),
    tuned: prototypeLossOf(model, users.map((u) => encodeSample(withInstruction(u.sample, null), context)), labels, tuned, tau, center),
  };
}
