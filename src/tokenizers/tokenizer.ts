/**
 * @module tokenizers/tokenizer
 * The tokenizer seam. Decoder text (preamble, instruction, answer) and encoder text (one
 * rendered record) both go through a `TextTokenizer`; special tokens of InstructUE (<USER>,
 * delimiters) are not parsed from text but placed by id (see src/model/special-tokens.ts).
 */

export interface TextTokenizer {
  /** Number of ids this tokenizer can produce (base vocabulary + added tokens). */
  readonly vocabSize: number;
  /** Token ids of `text`, without any special tokens. */
  encode(text: string): number[];
  /** Text of `ids` (special tokens skipped). */
  decode(ids: number[]): string;
  /** Id of a token string in the vocabulary, or undefined. */
  tokenToId(token: string): number | undefined;
}

/** Encoder-side tokenizer (BERT): also knows [CLS]/[SEP]/[PAD]. */
export interface EncoderTokenizer extends TextTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  /** [CLS] + encode(text) + [SEP], truncated to maxLen tokens in total. */
  encodeForEncoder(text: string, maxLen: number): number[];
}
