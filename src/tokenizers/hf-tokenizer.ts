/**
 * @module tokenizers/hf-tokenizer
 * Tokenizers from a Hugging Face folder through `@huggingface/tokenizers` (a maintained pure-JS
 * port of HF tokenizers): the decoder's text tokenizer (e.g. Qwen2 byte-level BPE) and the BERT
 * encoder's WordPiece tokenizer. The library needs both `tokenizer.json` and a
 * `tokenizer_config.json` object; a missing config gets a default. A BERT folder that has only
 * `vocab.txt` (older checkpoints) gets the tokenizer.json HF's converter would build from it.
 *
 * Special-token strings that appear in text (e.g. `<|im_end|>`) are matched as single ids, as in
 * HF. InstructUE's own tokens (`<USER>`, delimiters) are not in these vocabularies: they are placed
 * by id past `vocabSize` (see special-tokens.ts), and `decode` skips such ids.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WeightsError } from '../errors.js';
import { pathExists, readJsonFile } from '../weights/hf-folder.js';
import type { EncoderTokenizer, TextTokenizer } from './tokenizer.js';

/** The tokenizer_config.json used for a decoder tokenizer folder without one: lossless decode. */
export const DEFAULT_TEXT_TOKENIZER_CONFIG = Object.freeze({ clean_up_tokenization_spaces: false });

/** The tokenizer_config.json of a BERT (uncased) WordPiece tokenizer, used when a folder has none. */
export const WORDPIECE_TOKENIZER_CONFIG = Object.freeze({
  tokenizer_class: 'BertTokenizer',
  do_lower_case: true,
  unk_token: '[UNK]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  cls_token: '[CLS]',
  mask_token: '[MASK]',
  clean_up_tokenization_spaces: true,
});

const WORDPIECE_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** A TextTokenizer over an `@huggingface/tokenizers` Tokenizer. */
class HfTextTokenizer implements TextTokenizer {
  readonly vocabSize: number;

  constructor(protected readonly tok: Tokenizer) {
    let maxId = -1;
    for (const id of tok.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
  }

  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: number[]): string {
    const known = ids.filter((id) => id >= 0 && id < this.vocabSize && this.tok.id_to_token(id) !== undefined);
    return known.length === 0 ? '' : this.tok.decode(known, { skip_special_tokens: true });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }
}

/** An EncoderTokenizer: [CLS] text [SEP], truncated inside so that [SEP] stays last. */
class HfEncoderTokenizer extends HfTextTokenizer implements EncoderTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;

  constructor(tok: Tokenizer, config: Record<string, unknown>, source: string) {
    super(tok);
    const id = (key: string, fallback: string): number => {
      const token = tokenContent(config[key]) ?? fallback;
      const found = tok.token_to_id(token);
      if (found === undefined) throw new WeightsError(`${source}: ${key} ${JSON.stringify(token)} is not in the vocabulary`);
      return found;
    };
    this.clsId = id('cls_token', '[CLS]');
    this.sepId = id('sep_token', '[SEP]');
    this.padId = id('pad_token', '[PAD]');
  }

  encodeForEncoder(text: string, maxLen: number): number[] {
    if (!Number.isInteger(maxLen) || maxLen < 2) throw new RangeError(`encodeForEncoder: maxLen must be an integer >= 2, got ${maxLen}`);
    return [this.clsId, ...this.encode(text).slice(0, maxLen - 2), this.sepId];
  }
}

/** Decoder-side tokenizer from in-memory tokenizer.json / tokenizer_config.json objects. */
export function textTokenizerFromJson(tokenizerJson: object, configJson: object = DEFAULT_TEXT_TOKENIZER_CONFIG, source = 'tokenizer.json'): TextTokenizer {
  return new HfTextTokenizer(buildTokenizer(tokenizerJson, configJson, source));
}

/** BERT-side tokenizer from in-memory tokenizer.json / tokenizer_config.json objects. */
export function encoderTokenizerFromJson(tokenizerJson: object, configJson: object = WORDPIECE_TOKENIZER_CONFIG, source = 'tokenizer.json'): EncoderTokenizer {
  return new HfEncoderTokenizer(buildTokenizer(tokenizerJson, configJson, source), configJson as Record<string, unknown>, source);
}

/** The decoder's tokenizer from a HF folder (`tokenizer.json`, optional `tokenizer_config.json`). */
export async function loadTextTokenizer(dir: string): Promise<TextTokenizer> {
  const path = join(dir, 'tokenizer.json');
  const config = { ...DEFAULT_TEXT_TOKENIZER_CONFIG, ...(await readOptionalConfig(dir)) };
  return textTokenizerFromJson(await readObject(path, 'the tokenizer'), config, path);
}

/** The BERT encoder's tokenizer from a HF folder (`tokenizer.json`, or `vocab.txt` for older checkpoints). */
export async function loadEncoderTokenizer(dir: string): Promise<EncoderTokenizer> {
  const config = { ...WORDPIECE_TOKENIZER_CONFIG, ...(await readOptionalConfig(dir)) };
  const path = join(dir, 'tokenizer.json');
  if (await pathExists(path)) return encoderTokenizerFromJson(await readObject(path, 'the tokenizer'), config, path);
  const vocabPath = join(dir, 'vocab.txt');
  if (!(await pathExists(vocabPath))) throw new WeightsError(`${dir}: neither tokenizer.json nor vocab.txt found; point the encoder path at a BERT model folder`);
  const vocab = (await readFile(vocabPath, 'utf8')).split('\n');
  if (vocab[vocab.length - 1] === '') vocab.pop();
  const lowercase = (config as Record<string, unknown>).do_lower_case !== false;
  return encoderTokenizerFromJson(wordPieceTokenizerJson(vocab, { lowercase }), config, vocabPath);
}

/**
 * HF `tokenizer.json` of a BERT WordPiece vocabulary (ids = positions in `vocab`), as HF's
 * BertConverter builds it: BertNormalizer, BertPreTokenizer, WordPiece with `##` continuations,
 * `[CLS] $A [SEP]` template, and the standard special tokens as added tokens.
 */
export function wordPieceTokenizerJson(vocab: readonly string[], options: { lowercase: boolean }): object {
  const ids = new Map<string, number>();
  vocab.forEach((token, i) => {
    if (ids.has(token)) throw new WeightsError(`vocabulary has the token ${JSON.stringify(token)} twice (ids ${ids.get(token)} and ${i})`);
    ids.set(token, i);
  });
  for (const special of ['[UNK]', '[CLS]', '[SEP]']) {
    if (!ids.has(special)) throw new WeightsError(`vocabulary lacks the special token ${special}`);
  }
  const special = (name: string) => ({ id: name, ids: [ids.get(name)!], tokens: [name] });
  const piece = (name: string, typeId: number) => ({ SpecialToken: { id: name, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: WORDPIECE_SPECIALS.filter((t) => ids.has(t)).map((content) => ({
      id: ids.get(content)!, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: options.lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [piece('[CLS]', 0), sequence('A', 0), piece('[SEP]', 0)],
      pair: [piece('[CLS]', 0), sequence('A', 0), piece('[SEP]', 0), sequence('B', 1), piece('[SEP]', 1)],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(ids),
    },
  };
}

function buildTokenizer(tokenizerJson: object, configJson: object, source: string): Tokenizer {
  // Older tokenizer.json files omit stages; the library wants every key present.
  const json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...tokenizerJson };
  try {
    return new Tokenizer(json, configJson);
  } catch (err) {
    throw new WeightsError(`${source}: cannot build the tokenizer (${(err as Error).message})`, { cause: err });
  }
}

/** A token in tokenizer_config.json is a string or an AddedToken object `{content, ...}`. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

async function readObject(path: string, what: string): Promise<object> {
  const json = await readJsonFile(path, what);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new WeightsError(`${path}: ${what} is not a JSON object`);
  return json;
}

async function readOptionalConfig(dir: string): Promise<object | undefined> {
  const path = join(dir, 'tokenizer_config.json');
  return (await pathExists(path)) ? readObject(path, 'the tokenizer config') : undefined;
}
