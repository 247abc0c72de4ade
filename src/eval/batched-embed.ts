/**
 * @module eval/batched-embed
 * Fast inference for `instructue embed`: several instructions in one pass over the data, with
 * the frozen encoder run once per distinct behaviour record.
 *
 * Users are read in chunks (default 256). Per chunk:
 * 1. each sample is encoded once (rendered lines tokenised through a cache: lines repeat across
 *    users), and per instruction only its instruction ids change;
 * 2. the chunk's distinct record token sequences are run through the encoder once, grouped by
 *    padded length (a multiple of 8) so little padding is computed, in sub-batches of `encoderBatch`;
 * 3. per decoder batch, the universal prompt is laid out as InstructUE.prepare does, with the
 *    record rows gathered from step 2's vectors, and its shared part (preamble, behaviour,
 *    tabular: everything an instruction follows) runs through the decoder once, keeping every
 *    layer's keys and values; per instruction only the continuation — instruction text, learned
 *    vectors, <USER> — runs, attending to them (InstructUE.usersFromSharedPrefix). With
 *    `pooling: mean` (which averages over the whole prompt) each instruction runs the whole prompt.
 * Padding is masked, so a record's vector is mathematically independent of its batch; each record
 * is padded to a multiple of 8 of its own length, so the padded lengths do not depend on the
 * batch either. The embeddings are bit-identical for any number of instructions and any worker
 * count (workers take whole chunks), and equal, to float rounding, for any chunk or batch size
 * and to one `prepare` per batch (`embedEncoded`, which pads records to the batch's longest): a
 * BLAS rounds a GEMM by its shape, and those change the row counts (bit for bit without a BLAS,
 * INSTRUCTUE_BLAS_LIB=none).
 *
 * Legend: U distinct records, N records of a batch, C encoder width, B batch, D decoder width.
 */
import { tf, type Tensor } from '../backend/tf.js';
import { encodeSample, type EncodeContext } from '../data/collate.js';
import { SOURCE_NAMES, type EncodedSample, type Sample } from '../data/types.js';
import { UsageError } from '../errors.js';
import type { EncoderTokenizer } from '../tokenizers/tokenizer.js';
import type { InstructUE, PreparedBatch } from '../model/instructue.js';
import { layoutAnswers, layoutPrompts } from '../model/layout.js';
import { instructionTensor, withInstruction } from './instruction-input.js';
import type { EmbeddingsFile } from './embeddings-file.js';
import type { InstructionTokens } from './instruction-tokens-file.js';

/** One output of a pass: which instruction (and learned vectors) every record gets. */
export interface EmbedJob {
  /** Replaces each record's instruction (null = none, the universal embedding); undefined keeps the records' own. */
  instruction?: string | null;
  /** Learned instruction vectors [k, D] (tune-instruction), after the instruction text. */
  instructionTokens?: InstructionTokens;
}

export interface BatchedEmbedOptions {
  context: EncodeContext;
  jobs: EmbedJob[];
  /** Samples per decoder forward pass (default 32); results do not depend on it. */
  batch?: number;
  /** Samples whose records are deduplicated and encoded together (default 256). */
  chunk?: number;
  /** Distinct records per encoder forward pass (default 1024). */
  encoderBatch?: number;
  /** Called after every chunk with the number of samples embedded so far. */
  onProgress?: (done: number) => void;
}

/** An encoder tokenizer that remembers the ids of lines it has seen (bounded). */
function cachingEncoderTokenizer(tok: EncoderTokenizer, limit = 100_000): EncoderTokenizer {
  const cache = new Map<string, number[]>();
  return Object.assign(Object.create(tok) as EncoderTokenizer, {
    encodeForEncoder(text: string, maxLen: number): number[] {
      const key = `${maxLen}\u0000${text}`;
      let ids = cache.get(key);
      if (!ids) {
        ids = tok.encodeForEncoder(text, maxLen);
        if (cache.size >= limit) cache.clear();
        cache.set(key, ids);
      }
      return ids;
    },
  });
}

/** Embeds every sample once per job, in sample order; one EmbeddingsFile per job. */
export async function embedMany(model: InstructUE, samples: AsyncIterable<Sample> | Iterable<Sample>, opts: BatchedEmbedOptions): Promise<EmbeddingsFile[]> {
  const batch = opts.batch ?? 32;
  // A whole number of decoder batches per chunk: the decoder batches are then the same for any
  // chunk size (and any split of the users at chunk boundaries, as --workers makes).
  const chunk = Math.max(1, Math.round((opts.chunk ?? 256) / batch)) * batch;
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a positive integer; got ${batch}`);
  if (opts.jobs.length === 0) throw new UsageError('nothing to embed: give at least one instruction (or none for the universal embedding)');
  const context: EncodeContext = { ...opts.context, encoderTokenizer: cachingEncoderTokenizer(opts.context.encoderTokenizer) };
  const tensors = opts.jobs.map((j) => (j.instructionTokens ? instructionTensor(model, j.instructionTokens) : null));
  const fixedIds = opts.jobs.map((j) => (typeof j.instruction === 'string' ? context.decoderTokenizer.encode(j.instruction).slice(0, context.maxInstructionTokens) : null));
  const rows: Float32Array[][] = opts.jobs.map(() => []);
  const userIds: string[] = [];
  let pending: Sample[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const out = embedChunk(model, pending, context, opts, batch, tensors, fixedIds);
    out.forEach((r, j) => rows[j]!.push(r));
    for (const s of pending) userIds.push(s.record.user_id);
    pending = [];
    opts.onProgress?.(userIds.length);
  };
  try {
    for await (const sample of samples) {
      pending.push(sample);
      if (pending.length === chunk) flush();
    }
    flush();
  } finally {
    tf.dispose(tensors.filter((t): t is Tensor => t !== null));
  }
  const d = model.hidden;
  return rows.map((parts) => {
    const embeddings = new Float32Array(userIds.length * d);
    let at = 0;
    for (const r of parts) {
      embeddings.set(r, at);
      at += r.length;
    }
    return { embeddings, n: userIds.length, d, userIds: userIds.slice() };
  });
}

/** One chunk: every job's rows [n, D], in sample order. */
function embedChunk(
  model: InstructUE, samples: Sample[], context: EncodeContext, opts: BatchedEmbedOptions, batch: number,
  tensors: Array<Tensor | null>, fixedIds: Array<number[] | null>,
): Float32Array[] {
  const d = model.hidden;
  const base = samples.map((s) => encodeSample(withInstruction(s, null), context));
  const own = opts.jobs.some((j) => j.instruction === undefined)
    ? samples.map((s) => (s.record.instruction === null ? null : context.decoderTokenizer.encode(s.record.instruction).slice(0, context.maxInstructionTokens)))
    : [];
  const { unique_UC, rowOf } = encodeDistinctRecords(model, base, opts.encoderBatch ?? 1024);
  const out = opts.jobs.map(() => new Float32Array(samples.length * d));
  try {
    for (let start = 0; start < base.length; start += batch) {
      const slice = base.slice(start, start + batch);
      const tabular_BFY = tabularTensor(model, slice);
      try {
        const variants = opts.jobs.map((job, j) => slice.map((e, i): EncodedSample => ({ ...e, instruction: job.instruction === undefined ? own[start + i]! : fixedIds[j]! })));
        const users = model.options.pooling === 'user_token'
          ? embedSharedPrefix(model, slice, variants, unique_UC, rowOf, tabular_BFY, tensors)
          : variants.map((encoded, j) => embedPrepared(model, encoded, unique_UC, rowOf, tabular_BFY, tensors[j]!));
        users.forEach((user, j) => out[j]!.set(user, start * d));
      } finally {
        tabular_BFY?.dispose();
      }
    }
  } finally {
    unique_UC?.dispose();
  }
  return out;
}

/** The encoder vectors [U, C] of the distinct record sequences of `encoded`, and each record's row. */
function encodeDistinctRecords(model: InstructUE, encoded: EncodedSample[], encoderBatch: number): { unique_UC: Tensor | null; rowOf: Map<number[], number> } {
  const rowOf = new Map<number[], number>();
  const encoder = model.encoder;
  if (!encoder || model.options.textOnly || !model.options.useSequences) return { unique_UC: null, rowOf };
  const byKey = new Map<string, number>();
  const distinct: number[][] = [];
  for (const e of encoded) {
    for (const source of SOURCE_NAMES) {
      for (const rec of e.records[source]) {
        const key = rec.join(',');
        let row = byKey.get(key);
        if (row === undefined) {
          row = distinct.length;
          byKey.set(key, row);
          distinct.push(rec);
        }
        rowOf.set(rec, row);
      }
    }
  }
  if (distinct.length === 0) return { unique_UC: null, rowOf };
  // Each record is padded to its length rounded up to a multiple of 8 (PAD_MULTIPLE), whatever
  // else is in its batch: kernels round differently for other padded lengths, so a record's
  // vector depends on the record and its sub-batch's row count only.
  const padded = (n: number) => Math.min(encoder.dims.maxPositions, Math.ceil(n / PAD_MULTIPLE) * PAD_MULTIPLE);
  const order = distinct.map((_, i) => i).sort((a, b) => padded(distinct[a]!.length) - padded(distinct[b]!.length) || a - b);
  const parts: Tensor[] = [];
  for (let i = 0; i < order.length; ) {
    const length = padded(distinct[order[i]!]!.length);
    let j = i;
    while (j < order.length && j - i < encoderBatch && padded(distinct[order[j]!]!.length) === length) j++;
    parts.push(encodePadded(model, order.slice(i, j).map((k) => distinct[k]!), length));
    i = j;
  }
  const unique_UC = tf.tidy(() => {
    const sorted_UC = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
    // Row r of sorted_UC is distinct[order[r]]; invert the order.
    const inverse = new Int32Array(order.length);
    order.forEach((k, r) => (inverse[k] = r));
    return tf.gather(sorted_UC, tf.tensor1d(inverse, 'int32'));
  });
  tf.dispose(parts);
  return { unique_UC, rowOf };
}

/** Encoder record padding (see encodeDistinctRecords). */
export const PAD_MULTIPLE = 8;

/** Pooled encoder vectors [N, C] of token sequences padded to `length` (BertEncoder.encode with a fixed length). */
function encodePadded(model: InstructUE, sequences: number[][], length: number): Tensor {
  const encoder = model.encoder!;
  const rows = sequences.length;
  const ids = new Int32Array(rows * length).fill(model.options.encoderPadId);
  const mask = new Int32Array(rows * length);
  sequences.forEach((seq, n) => {
    seq.forEach((id, l) => {
      ids[n * length + l] = id;
      mask[n * length + l] = 1;
    });
  });
  return tf.tidy(() => encoder.meanPool(encoder.forward(ids, mask, rows, length), mask, rows, length));
}

function tabularTensor(model: InstructUE, samples: EncodedSample[]): Tensor | null {
  const o = model.options;
  if (!o.useTabular || o.textOnly) return null;
  const data = new Float32Array(samples.length * o.tabularFeatures * o.tabularDim);
  samples.forEach((s, b) => data.set(s.tabular, b * o.tabularFeatures * o.tabularDim));
  return tf.tensor3d(data, [samples.length, o.tabularFeatures, o.tabularDim]);
}

/**
 * One batch laid out exactly as InstructUE.prepare does (same options, same position check), with
 * record vectors gathered from `unique_UC`, so the decoder sees what it sees in training.
 */
function preparedBatch(model: InstructUE, samples: EncodedSample[], unique_UC: Tensor | null, rowOf: Map<number[], number>, tabular_BFY: Tensor | null, k: number): PreparedBatch {
  const o = model.options;
  const prompt = layoutPrompts(samples, {
    preambleIds: o.preambleIds, instructionPrefixIds: o.instructionPrefixIds, useSequences: o.useSequences,
    useTabular: o.useTabular, textOnly: o.textOnly, tabularFeatures: o.tabularFeatures, instructionVectors: k,
    withAnswer: false, eosId: o.eosId, padId: o.padId,
  });
  model.checkPositions(prompt.length, false);
  const records_NC = unique_UC && prompt.records.length > 0 ? tf.gather(unique_UC, tf.tensor1d(Int32Array.from(prompt.records, (r) => rowOf.get(r)!), 'int32')) : null;
  return {
    samples, prompt, full: null, answers: layoutAnswers(samples, o.padId), records_NC, tabular_BFY, instructionVectors: k,
    dispose: () => undefined,
  };
}

/** User embeddings [B, D] of one batch under one instruction (a whole-prompt decoder pass). */
function embedPrepared(model: InstructUE, samples: EncodedSample[], unique_UC: Tensor | null, rowOf: Map<number[], number>, tabular_BFY: Tensor | null, instruction_kD: Tensor | null): Float32Array {
  return tf.tidy(() => {
    const prepared = preparedBatch(model, samples, unique_UC, rowOf, tabular_BFY, instruction_kD?.shape[0] ?? 0);
    return model.userForward(prepared, { withAnswer: false, instruction_kD: instruction_kD ?? undefined }).user_BD.dataSync() as Float32Array;
  });
}

/**
 * User embeddings [B, D] of one batch under every job's instruction: the universal prompt's
 * shared part runs through the decoder once, each instruction continues from its cached keys
 * and values (InstructUE.usersFromSharedPrefix). A job's numbers depend on its own instruction
 * only, not on which other jobs run beside it.
 */
function embedSharedPrefix(
  model: InstructUE, universal: EncodedSample[], variants: EncodedSample[][], unique_UC: Tensor | null, rowOf: Map<number[], number>,
  tabular_BFY: Tensor | null, tensors: Array<Tensor | null>,
): Float32Array[] {
  return tf.tidy(() => {
    const prefix = preparedBatch(model, universal, unique_UC, rowOf, tabular_BFY, 0);
    const users = model.usersFromSharedPrefix(prefix, variants.map((samples, j) => ({ samples, instruction_kD: tensors[j] ?? null })));
    return users.map((u) => u.dataSync() as Float32Array);
  });
}
