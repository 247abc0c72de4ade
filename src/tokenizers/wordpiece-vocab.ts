/**
 * @module tokenizers/wordpiece-vocab
 * The built-in tokenizer of the tiny preset: a deterministic WordPiece vocabulary that needs no
 * file from outside, run through the same `@huggingface/tokenizers` path as real checkpoints.
 *
 * Vocabulary (ids in this order): `[PAD]` 0, `[UNK]` 1, `[CLS]` 2, `[SEP]` 3, `[MASK]` 4; then each
 * printable ASCII character that survives lowercasing (`!` … `~` without `A`–`Z`, 68 characters)
 * followed by its `##` continuation (ids 5 … 140); then the given words, lowercased, in order,
 * skipping ones already present. Since every character has both forms, any ASCII text tokenizes
 * without `[UNK]`, except single words over 100 characters (BERT's `max_input_chars_per_word`).
 */
import { ConfigError } from '../errors.js';
import { encoderTokenizerFromJson, textTokenizerFromJson, wordPieceTokenizerJson, WORDPIECE_TOKENIZER_CONFIG } from './hf-tokenizer.js';
import type { EncoderTokenizer, TextTokenizer } from './tokenizer.js';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** The tiny vocabulary as a list (id = index); see the module comment for the order. */
export function tinyVocabulary(words: readonly string[]): string[] {
  const vocab = [...SPECIALS];
  for (let code = 0x21; code <= 0x7e; code++) {
    const c = String.fromCharCode(code);
    if (c === c.toLowerCase()) vocab.push(c, `##${c}`);
  }
  const present = new Set(vocab);
  for (const word of words) {
    const w = word.toLowerCase();
    // BertPreTokenizer splits on whitespace and punctuation, so only [a-z0-9]+ can ever match.
    if (!/^[a-z0-9]+$/.test(w)) throw new ConfigError(`tiny vocabulary word ${JSON.stringify(word)} must be letters and digits only (ASCII, no spaces or punctuation)`);
    if (!present.has(w)) {
      present.add(w);
      vocab.push(w);
    }
  }
  return vocab;
}

/** HF `tokenizer.json` object of the tiny vocabulary; the same words give byte-identical JSON. */
export function buildWordPieceTokenizerJson(words: readonly string[]): object {
  return wordPieceTokenizerJson(tinyVocabulary(words), { lowercase: true });
}

/** The tiny preset's encoder tokenizer ([CLS] … [SEP]). */
export function tinyEncoderTokenizer(words: readonly string[]): EncoderTokenizer {
  return encoderTokenizerFromJson(buildWordPieceTokenizerJson(words), WORDPIECE_TOKENIZER_CONFIG, 'tiny vocabulary');
}

/** The tiny preset's decoder tokenizer: the same vocabulary, no special tokens added by encode. */
export function tinyTextTokenizer(words: readonly string[]): TextTokenizer {
  return textTokenizerFromJson(buildWordPieceTokenizerJson(words), WORDPIECE_TOKENIZER_CONFIG, 'tiny vocabulary');
}
