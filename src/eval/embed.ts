/**
 * @module eval/embed
 * User embeddings out of a model: a stream of UserQA samples → one row per sample (the hidden
 * state at <USER>, or the model's pooling), in sample order, with the samples' user ids. Batches
 * are encoded, laid out, embedded and released one at a time, so memory holds one batch plus the
 * N×d result. Optional instruction handling:
 * - `instruction: TEXT` replaces every record's instruction (null = universal, no instruction);
 * - `instructionTokens`: learned vectors [k, D] placed after the instruction text and before
 *   <USER> (src/model/layout.ts), as `tune-instruction` fitted them.
 *
 * Legend: B batch, D decoder width, k instruction vectors.
 */
import { tf, type Tensor } from '../backend/tf.js';
import { encodeSample, type EncodeContext } from '../data/collate.js';
import type { EncodedSample, Sample } from '../data/types.js';
import { UsageError } from '../errors.js';
import type { InstructUE } from '../model/instructue.js';
import type { EmbeddingsFile } from './embeddings-file.js';
import type { InstructionTokens } from './instruction-tokens-file.js';

export interface EmbedOptions {
  context: EncodeContext;
  /** Samples per forward pass (default 32); results do not depend on it. */
  batch?: number;
  /** Replaces each record's instruction (null = none); undefined keeps the records' own. */
  instruction?: string | null;
  /** Learned instruction vectors [k, D] (tune-instruction). */
  instructionTokens?: InstructionTokens;
  /** Called after every batch with the number of samples embedded so far. */
  onProgress?: (done: number) => void;
}

/** The sample with its instruction replaced (undefined = unchanged). */
export function withInstruction(sample: Sample, instruction: string | null | undefined): Sample {
  return instruction === undefined ? sample : { id: sample.id, record: { ...sample.record, instruction } };
}

/** The instruction vectors as a tensor [k, D], checked against the model width. */
export function instructionTensor(model: InstructUE, tokens: InstructionTokens): Tensor {
  if (tokens.d !== model.hidden) {
    throw new UsageError(`the instruction tokens are ${tokens.d} wide but the model's hidden size is ${model.hidden}; tune them for this model`);
  }
  return tf.tensor2d(tokens.vectors, [tokens.k, tokens.d]);
}

/** User embeddings [B, D] of encoded samples as a host array (no gradient). */
export function embedEncoded(model: InstructUE, encoded: EncodedSample[], instruction_kD: Tensor | null = null): Float32Array {
  const batch = model.prepare(encoded, { withAnswer: false, instructionVectors: instruction_kD?.shape[0] ?? 0 });
  try {
    return tf.tidy(() => model.userForward(batch, { withAnswer: false, instruction_kD: instruction_kD ?? undefined }).user_BD.dataSync() as Float32Array);
  } finally {
    batch.dispose();
  }
}

/** Embeds every sample of `samples` in order; row i belongs to the i-th sample's user id. */
export async function embedUsers(model: InstructUE, samples: AsyncIterable<Sample> | Iterable<Sample>, opts: EmbedOptions): Promise<EmbeddingsFile> {
  const size = opts.batch ?? 32;
  if (!Number.isInteger(size) || size < 1) throw new UsageError(`--batch must be a positive integer; got ${size}`);
  const d = model.hidden;
  const instruction_kD = opts.instructionTokens ? instructionTensor(model, opts.instructionTokens) : null;
  const rows: Float32Array[] = [];
  const userIds: string[] = [];
  let pending: Sample[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const encoded = pending.map((s) => encodeSample(withInstruction(s, opts.instruction), opts.context));
    rows.push(embedEncoded(model, encoded, instruction_kD));
    for (const s of pending) userIds.push(s.record.user_id);
    pending = [];
    opts.onProgress?.(userIds.length);
  };
  try {
    for await (const sample of samples) {
      pending.push(sample);
      if (pending.length === size) flush();
    }
    flush();
  } finally {
    instruction_kD?.dispose();
  }
  const embeddings = new Float32Array(userIds.length * d);
  let at = 0;
  for (const r of rows) {
    embeddings.set(r, at);
    at += r.length;
  }
  return { embeddings, n: userIds.length, d, userIds };
}
