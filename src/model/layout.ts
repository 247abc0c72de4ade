/**
 * @module model/layout
 * Turns encoded samples into the decoder's input layout (paper Fig. 3): for each position either
 * a regular token id (looked up in the frozen embedding table) or a row of the "soft pool" —
 * the trainable special-token rows, learnable instruction vectors, adapter outputs of behaviour
 * records and tabular features. Pure host-side bookkeeping; no tensors here.
 *
 *   [preamble] <bill> r r r </bill> <minipro> … </minipro> <spm> … </spm> <search> … </search>
 *   <tabular> f f f </tabular> [Instruction: text] [learned instruction vectors] <USER> [answer eos]
 *
 * Soft pool rows, in order: SPECIAL_TOKENS, instruction vectors (k), records (source-major, then
 * sample, then record), tabular features (sample-major, then feature).
 */
import { SOURCE_NAMES, type EncodedSample, type SourceName } from '../data/types.js';
import { closeTag, openTag, SPECIAL_TOKENS, specialIndex, type SpecialToken } from './special-tokens.js';

export interface LayoutOptions {
  preambleIds: number[];
  instructionPrefixIds: number[];
  useSequences: boolean;
  useTabular: boolean;
  textOnly: boolean;
  tabularFeatures: number;
  /** Learned instruction vectors placed before <USER> (instruction tuning); 0 = none. */
  instructionVectors: number;
  /** Append the answer and the end token (teacher forcing for the LM loss). */
  withAnswer: boolean;
  eosId: number;
  padId: number;
  /** The LM targets start at <USER> → answer[0] (default); false: at answer[0] → answer[1]. */
  lmFromUser?: boolean;
}

/** A right-padded batch of decoder sequences. */
export interface SequenceLayout {
  batch: number;
  length: number;
  /** Token id per position; `padId` at soft and padding positions. */
  tokenIds: Int32Array;
  /** 1 where the position takes the frozen token embedding, else 0. */
  isToken: Float32Array;
  /** 0 = no soft row; 1 + i = soft pool row i. */
  softIndex: Int32Array;
  /** Attention mask: 1 = real position, 0 = padding. */
  mask: Int32Array;
  /** Position whose final hidden state is the embedding (<USER> or <ANSWER>), per row. */
  embedPos: Int32Array;
}

export interface PromptLayout extends SequenceLayout {
  /** Flat positions b·T + t whose next token is an LM target, and those targets. */
  lmRows: Int32Array;
  lmLabels: Int32Array;
  /** Encoder inputs in soft-pool order, with the pool row of the first record of each source. */
  records: number[][];
  recordRowsBySource: Record<SourceName, { start: number; count: number }>;
  tabularStart: number;
  instructionStart: number;
  poolSize: number;
}

type Slot = { token: number } | { soft: number };

function finish(rows: Slot[][], embedPos: number[], padId: number): SequenceLayout {
  const batch = rows.length;
  const length = Math.max(1, ...rows.map((r) => r.length));
  const tokenIds = new Int32Array(batch * length).fill(padId);
  const isToken = new Float32Array(batch * length);
  const softIndex = new Int32Array(batch * length);
  const mask = new Int32Array(batch * length);
  rows.forEach((row, b) => {
    row.forEach((slot, t) => {
      const i = b * length + t;
      mask[i] = 1;
      if ('token' in slot) {
        tokenIds[i] = slot.token;
        isToken[i] = 1;
      } else {
        softIndex[i] = slot.soft + 1;
      }
    });
  });
  return { batch, length, tokenIds, isToken, softIndex, mask, embedPos: Int32Array.from(embedPos) };
}

const special = (t: SpecialToken): Slot => ({ soft: specialIndex(t) });
const tokens = (ids: number[]): Slot[] => ids.map((token) => ({ token }));

/**
 * A row's instruction: the prefix ("Instruction: ") and its text, then the learned vectors (soft
 * rows right after the special tokens); nothing for a universal row without vectors.
 */
function instructionSlots(s: EncodedSample, opts: Pick<LayoutOptions, 'instructionPrefixIds' | 'instructionVectors'>): Slot[] {
  if (s.instruction === null && opts.instructionVectors === 0) return [];
  const slots = [...tokens(opts.instructionPrefixIds), ...tokens(s.instruction ?? [])];
  for (let k = 0; k < opts.instructionVectors; k++) slots.push({ soft: SPECIAL_TOKENS.length + k });
  return slots;
}

/**
 * The part of each prompt that follows the behaviour and tabular sections — instruction and
 * <USER> — as its own right-padded batch (the continuation of a cached prefix, for embedding
 * under several instructions). Soft rows index the pool [special tokens; instruction vectors];
 * `embedPos` is each row's <USER>.
 */
export function layoutContinuations(samples: EncodedSample[], opts: Pick<LayoutOptions, 'instructionPrefixIds' | 'instructionVectors' | 'padId'>): SequenceLayout {
  const rows = samples.map((s) => [...instructionSlots(s, opts), special('<USER>')]);
  return finish(rows, rows.map((r) => r.length - 1), opts.padId);
}

/** The user-side sequences: profile, instruction, <USER>, and (optionally) the answer. */
export function layoutPrompts(samples: EncodedSample[], opts: LayoutOptions): PromptLayout {
  const instructionStart = SPECIAL_TOKENS.length;
  let next = instructionStart + opts.instructionVectors;
  const records: number[][] = [];
  const recordRowsBySource = {} as Record<SourceName, { start: number; count: number }>;
  const recordRow: Record<SourceName, number[]> = { bill: [], minipro: [], spm: [], search: [] };
  for (const source of SOURCE_NAMES) {
    recordRowsBySource[source] = { start: next, count: 0 };
    if (!opts.useSequences || opts.textOnly) continue;
    samples.forEach((s) => {
      recordRow[source].push(next);
      for (const rec of s.records[source]) {
        records.push(rec);
        next++;
      }
    });
    recordRowsBySource[source].count = next - recordRowsBySource[source].start;
  }
  const tabularStart = next;
  if (opts.useTabular && !opts.textOnly) next += samples.length * opts.tabularFeatures;

  const rows: Slot[][] = [];
  const embedPos: number[] = [];
  samples.forEach((s, b) => {
    const row: Slot[] = tokens(opts.preambleIds);
    if (opts.useSequences) {
      for (const source of SOURCE_NAMES) {
        row.push(special(openTag(source)));
        if (opts.textOnly) row.push(...tokens(s.text?.[source] ?? []));
        else s.records[source].forEach((_, r) => row.push({ soft: recordRow[source][b]! + r }));
        row.push(special(closeTag(source)));
      }
    }
    if (opts.useTabular) {
      row.push(special(openTag('tabular')));
      if (opts.textOnly) row.push(...tokens(s.text?.tabular ?? []));
      else for (let f = 0; f < opts.tabularFeatures; f++) row.push({ soft: tabularStart + b * opts.tabularFeatures + f });
      row.push(special(closeTag('tabular')));
    }
    row.push(...instructionSlots(s, opts));
    embedPos.push(row.length);
    row.push(special('<USER>'));
    // Teacher forcing: <USER> predicts answer[0], answer[j] predicts answer[j+1], the last
    // answer token predicts eos (which is a target only, never an input). With `lmFromUser`
    // false the first target is answer[1]: the embedding position has no next-token target.
    if (opts.withAnswer) row.push(...tokens(s.answer));
    rows.push(row);
  });
  const layout = finish(rows, embedPos, opts.padId);
  const lmRows: number[] = [];
  const lmLabels: number[] = [];
  if (opts.withAnswer) {
    const first = opts.lmFromUser === false ? 1 : 0;
    samples.forEach((s, b) => {
      [...s.answer, opts.eosId].forEach((label, j) => {
        if (j < first) return;
        lmRows.push(b * layout.length + embedPos[b]! + j);
        lmLabels.push(label);
      });
    });
  }
  return {
    ...layout,
    lmRows: Int32Array.from(lmRows),
    lmLabels: Int32Array.from(lmLabels),
    records,
    recordRowsBySource,
    tabularStart,
    instructionStart,
    poolSize: next,
  };
}

/** The answer-side sequences: answer tokens followed by <ANSWER>, whose hidden state is the answer embedding. */
export function layoutAnswers(samples: EncodedSample[], padId: number): SequenceLayout {
  const rows = samples.map((s) => [...tokens(s.answer), special('<ANSWER>')]);
  return finish(rows, samples.map((s) => s.answer.length), padId);
}
