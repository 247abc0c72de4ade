/**
 * @module model/special-tokens
 * The tokens InstructUE adds to the decoder vocabulary: `<USER>` (its final hidden state is the
 * user embedding), `<ANSWER>` (appended to an answer; its final hidden state is the answer
 * embedding) and the source delimiters of Fig. 3. They get ids right after the tokenizer's own
 * (Qwen2.5: 151665 onwards, inside the padded embedding matrix, so no resize), and their input
 * rows are trainable variables rather than rows of the frozen table.
 */
import { SOURCE_NAMES, type SourceName } from '../data/types.js';

export const SPECIAL_TOKENS = [
  '<USER>', '<ANSWER>',
  '<bill>', '</bill>', '<minipro>', '</minipro>', '<spm>', '</spm>', '<search>', '</search>',
  '<tabular>', '</tabular>',
] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

/** Index of a special token in SPECIAL_TOKENS (= its row in the trainable special embedding). */
export function specialIndex(token: SpecialToken): number {
  return SPECIAL_TOKENS.indexOf(token);
}

export function openTag(source: SourceName | 'tabular'): SpecialToken {
  return `<${source}>` as SpecialToken;
}

export function closeTag(source: SourceName | 'tabular'): SpecialToken {
  return `</${source}>` as SpecialToken;
}

/** Decoder ids of the special tokens: firstId, firstId+1, … */
export function specialTokenIds(firstId: number): Record<SpecialToken, number> {
  return Object.fromEntries(SPECIAL_TOKENS.map((t, i) => [t, firstId + i])) as Record<SpecialToken, number>;
}

export { SOURCE_NAMES };
