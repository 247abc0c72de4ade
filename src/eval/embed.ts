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
import type { EncodeContext } from '../data/collate.js';
import type { EncodedSample, Sample } from '../data/types.js';
import type { InstructUE } from '../model/instructue.js';
import { embedMany } from './batched-embed.js';
import type { EmbeddingsFile } from './embeddings-file.js';
import type { InstructionTokens } from './instruction-tokens-file.js';

export interface EmbedOptions {
  context: EncodeContext;
  /** Samples per forward pass (default 32); results depend on it only to float rounding. */
  batch?: number;
  /** Samples whose records are encoded together (default 256); the same rounding note. */
  chunk?: number;
  /** Replaces each record's instruction (null = none); undefined keeps the records' own. */
  instruction?: string | null;
  /** Learned instruction vectors [k, D] (tune-instruction). */
  instructionTokens?: InstructionTokens;
  /** Called after every chunk of samples with the number embedded so far. */
  onProgress?: (done: number) => void;
}

export { instructionTensor, withInstruction } from './instruction-input.js';

/** User embeddings [B, D] of encoded samples as a host array (no gradient). */
export function embedEncoded(model: InstructUE, encoded: EncodedSample[], instruction_kD: Tensor | null = null): Float32Array {
  const batch = model.prepare(encoded, { withAnswer: false, instructionVectors: instruction_kD?.shape[0] ?? 0 });
  try {
    return tf.tidy(() => model.userForward(batch, { withAnswer: false, instruction_kD: instruction_kD ?? undefined }).user_BD.dataSync() as Float32Array);
  } finally {
    batch.dispose();
  }
}

/**
 * Embeds every sample of `samples` in order; row i belongs to the i-th sample's user id. Runs
 * the batched path (src/eval/batched-embed.ts: records deduplicated and encoded once per chunk);
 * `embedEncoded` above is the plain one-`prepare`-per-batch reference it is tested against.
 */
export async function embedUsers(model: InstructUE, samples: AsyncIterable<Sample> | Iterable<Sample>, opts: EmbedOptions): Promise<EmbeddingsFile> {
  const [file] = await embedMany(model, samples, {
    context: opts.context, batch: opts.batch, chunk: opts.chunk, onProgress: opts.onProgress,
    jobs: [{ instruction: opts.instruction, instructionTokens: opts.instructionTokens }],
  });
  return file!;
}
