/**
 * @module data/collate
 * One sample → token ids and tabular features (`EncodedSample`, src/data/types.ts), applying the
 * per-sample caps from config: the most recent `maxRecordsPerSource` records per source (oldest
 * first), `encoderMaxLen` tokens per rendered record, instruction and answer truncated, and in
 * the text-only ablation a shared token budget over the five blocks. Padding into tensors is
 * the model's layout step (src/model/layout.ts); this stays per sample so workers can encode
 * their own shard slices independently.
 */
import type { EncoderTokenizer, TextTokenizer } from '../tokenizers/tokenizer.js';
import { LINE_SEPARATOR } from './render-templates.js';
import { renderSourceLines, renderTabular } from './render.js';
import { featurizeTabular, type TabularSchema } from './tabular.js';
import { SOURCE_NAMES, type EncodedSample, type Sample, type SourceName } from './types.js';

export interface EncodeContext {
  decoderTokenizer: TextTokenizer;
  encoderTokenizer: EncoderTokenizer;
  tabularSchema: TabularSchema;
  /** D of the tabular encoding (model.tabular_dim). */
  tabularDim: number;
  maxRecordsPerSource: number;
  /** Tokens per rendered record, [CLS] and [SEP] included (model.encoder.max_len). */
  encoderMaxLen: number;
  maxInstructionTokens: number;
  maxAnswerTokens: number;
  /** Text-only ablation: fill `text` and leave `records` empty (no encoder runs). */
  textOnly: boolean;
  /** Total tokens of the five text blocks in the text-only ablation. */
  maxTextTokens: number;
}

type Block = SourceName | 'tabular';
const BLOCKS: readonly Block[] = [...SOURCE_NAMES, 'tabular'];

/** Encodes one sample; pure and deterministic for a given context. */
export function encodeSample(sample: Sample, ctx: EncodeContext): EncodedSample {
  const { record } = sample;
  const records = {} as Record<SourceName, number[][]>;
  const lines = {} as Record<SourceName, string[]>;
  for (const source of SOURCE_NAMES) {
    lines[source] = renderSourceLines(source, record.sources[source], ctx.maxRecordsPerSource);
    records[source] = ctx.textOnly ? [] : lines[source].map((l) => ctx.encoderTokenizer.encodeForEncoder(l, ctx.encoderMaxLen));
  }
  const encoded: EncodedSample = {
    id: sample.id,
    records,
    tabular: featurizeTabular(record.tabular, ctx.tabularSchema, ctx.tabularDim),
    instruction: record.instruction === null ? null : ctx.decoderTokenizer.encode(record.instruction).slice(0, ctx.maxInstructionTokens),
    answer: ctx.decoderTokenizer.encode(record.answer).slice(0, ctx.maxAnswerTokens),
  };
  if (ctx.textOnly) {
    const full = {} as Record<Block, number[]>;
    for (const source of SOURCE_NAMES) full[source] = ctx.decoderTokenizer.encode(lines[source].join(LINE_SEPARATOR));
    full.tabular = ctx.decoderTokenizer.encode(renderTabular(record.tabular));
    const budget = shareBudget(BLOCKS.map((b) => full[b].length), ctx.maxTextTokens);
    const text = {} as Record<Block, number[]>;
    BLOCKS.forEach((b, i) => {
      // Sources keep their most recent tokens (the end); the tabular block keeps its start.
      text[b] = b === 'tabular' ? full[b].slice(0, budget[i]) : full[b].slice(full[b].length - budget[i]);
    });
    encoded.text = text;
  }
  return encoded;
}

/**
 * Splits `total` tokens over blocks of the given lengths by water-filling: blocks shorter than
 * an equal share keep everything and the rest is shared equally among the longer ones (the
 * remainder of the division going to the earlier blocks). The result sums to
 * min(total, Σ lengths) and never exceeds a block's length.
 */
export function shareBudget(lengths: readonly number[], total: number): number[] {
  const out = lengths.slice();
  if (lengths.reduce((a, b) => a + b, 0) <= total) return out;
  let open = lengths.map((_, i) => i);
  let left = total;
  for (;;) {
    const share = Math.floor(left / open.length);
    const small = open.filter((i) => lengths[i] <= share);
    if (small.length === 0) {
      let extra = left - share * open.length;
      for (const i of open) out[i] = share + (extra-- > 0 ? 1 : 0);
      return out;
    }
    for (const i of small) left -= lengths[i];
    open = open.filter((i) => lengths[i] > share);
  }
}
