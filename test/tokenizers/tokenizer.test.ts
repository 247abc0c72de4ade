import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, WeightsError } from '../../src/errors.js';
import { loadEncoderTokenizer, loadTextTokenizer, wordPieceTokenizerJson } from '../../src/tokenizers/hf-tokenizer.js';
import { buildWordPieceTokenizerJson, tinyEncoderTokenizer, tinyTextTokenizer, tinyVocabulary } from '../../src/tokenizers/wordpiece-vocab.js';
import { TINY_BERT_VOCAB, TINY_BPE_CONFIG, tinyBpeTokenizerJson, writeTokenizerFolder } from '../helpers/hf-fixtures.js';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tok-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('byte-level BPE tokenizer in Qwen2 format', () => {
  // Hand-checked ids. Base ids follow GPT-2's byte order: '!'..'~' are 0..93 (H 39, e 68, l 75, o 78,
  // w 86, r 81, d 67, x 87, digits 15..24, "'" 6, S 50, E 36), then ¡..¬ 94..105, ®..ÿ 106..187, then
  // the other bytes 188..255 (newline Ċ 198, space Ġ 220). Merges make 256..266: He, ll, Hell, Hello,
  // Ġw, or, Ġwor, ld, Ġworld, ĠĠ, 'S. Added tokens: <|endoftext|> 267, <|im_start|> 268, <|im_end|> 269.
  const cases: [string, number[]][] = [
    ['Hello world', [259, 264]],
    ['Hello  world', [259, 220, 264]], // \s+(?!\S) keeps one space apart
    ['x2024', [87, 17, 15, 17, 19]], // \p{N} splits digits one by one
    ["HE'S", [39, 36, 266]], // (?i:'s) contraction is one pre-token, so the "' S" merge applies
    ['a\nb', [64, 198, 65]],
    ['<|im_start|>Hello<|im_end|>', [268, 259, 269]], // special tokens in text are single ids
    ['é', [127, 102]], // UTF-8 C3 A9
    ['e\u0301', [127, 102]], // NFC normalisation first
    ['Hello .', [259, 220, 13]],
  ];

  it('loads from a folder and encodes known strings to hand-checked ids; decode inverts them', async () => {
    const dir = await tempDir();
    await writeTokenizerFolder(dir, { tokenizer: tinyBpeTokenizerJson(), config: TINY_BPE_CONFIG });
    const tok = await loadTextTokenizer(dir);
    assert.equal(tok.vocabSize, 270);
    assert.deepEqual(cases.map(([text]) => tok.encode(text)), cases.map(([, ids]) => ids));
    assert.deepEqual(
      cases.map(([text]) => tok.decode(tok.encode(text))),
      ['Hello world', 'Hello  world', 'x2024', "HE'S", 'a\nb', 'Hello', 'é', 'é', 'Hello .'],
    );
    assert.equal(tok.tokenToId('<|im_end|>'), 269);
    assert.equal(tok.tokenToId('Ġworld'), 264);
    assert.equal(tok.tokenToId('<USER>'), undefined);
    // Ids past the vocabulary (InstructUE's own special tokens) are skipped like special tokens.
    assert.equal(tok.decode([267, 259, 270, 271, 264]), 'Hello world');
    assert.equal(tok.decode([]), '');
  });

  it('works without tokenizer_config.json, decoding losslessly', async () => {
    const dir = await tempDir();
    await writeTokenizerFolder(dir, { tokenizer: tinyBpeTokenizerJson() });
    const tok = await loadTextTokenizer(dir);
    assert.deepEqual(tok.encode('Hello world'), [259, 264]);
    assert.equal(tok.decode(tok.encode('Hello . world ,')), 'Hello . world ,');
  });

  it('names the file when tokenizer.json is missing or broken', async () => {
    const dir = await tempDir();
    await assert.rejects(loadTextTokenizer(dir), (err: unknown) => err instanceof WeightsError && err.message.startsWith(`${join(dir, 'tokenizer.json')}: cannot read the tokenizer`));
    await writeTokenizerFolder(dir, { tokenizer: { model: { type: 'Nope' } } });
    await assert.rejects(loadTextTokenizer(dir), (err: unknown) => err instanceof WeightsError && err.message.startsWith(`${join(dir, 'tokenizer.json')}: cannot build the tokenizer`));
  });
});

/** tokenizer.json as HF's BertTokenizerFast saves it (bert-base-uncased layout), for TINY_BERT_VOCAB. */
const HF_BERT_TOKENIZER_JSON = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [[0, '[PAD]'], [2, '[UNK]'], [3, '[CLS]'], [4, '[SEP]'], [5, '[MASK]']].map(([id, content]) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  })),
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
    pair: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
    ],
    special_tokens: { '[CLS]': { id: '[CLS]', ids: [3], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [4], tokens: ['[SEP]'] } },
  },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(TINY_BERT_VOCAB.map((t, i) => [t, i])) },
};

const GTE_TOKENIZER_CONFIG = {
  clean_up_tokenization_spaces: true, cls_token: { __type: 'AddedToken', content: '[CLS]', normalized: false, special: true },
  do_lower_case: true, mask_token: '[MASK]', model_max_length: 512, pad_token: '[PAD]', sep_token: '[SEP]',
  strip_accents: null, tokenize_chinese_chars: true, tokenizer_class: 'BertTokenizer', unk_token: '[UNK]',
};

describe('BERT WordPiece tokenizer', () => {
  // the 8, bill 9, ##s 10, ',' 7, un 14, ##paid 15, '.' 6, cafe 12, taxi 13, [UNK] 2; [CLS] 3, [SEP] 4.
  const text = 'The bills, unpaid. Café TAXI zebra';
  const full = [3, 8, 9, 10, 7, 14, 15, 6, 12, 13, 2, 4];

  it('encodes with [CLS]/[SEP], lowercasing, accent stripping and [UNK], truncating with [SEP] kept last', async () => {
    const dir = await tempDir();
    await writeTokenizerFolder(dir, { tokenizer: HF_BERT_TOKENIZER_JSON, config: GTE_TOKENIZER_CONFIG });
    const tok = await loadEncoderTokenizer(dir);
    assert.deepEqual({ cls: tok.clsId, sep: tok.sepId, pad: tok.padId, vocab: tok.vocabSize }, { cls: 3, sep: 4, pad: 0, vocab: 16 });
    assert.deepEqual(tok.encodeForEncoder(text, 64), full);
    assert.deepEqual(tok.encodeForEncoder(text, 5), [3, 8, 9, 10, 4]);
    assert.deepEqual(tok.encodeForEncoder(text, 2), [3, 4]);
    assert.deepEqual(tok.encode(text), full.slice(1, -1));
    assert.equal(tok.decode(full), 'the bills, unpaid. cafe taxi');
    assert.throws(() => tok.encodeForEncoder(text, 1), RangeError);
  });

  it('builds the same tokenizer.json as HF from vocab.txt, and honours do_lower_case', async () => {
    assert.deepEqual(wordPieceTokenizerJson(TINY_BERT_VOCAB, { lowercase: true }), HF_BERT_TOKENIZER_JSON);
    const uncased = await tempDir();
    await writeTokenizerFolder(uncased, { vocabTxt: TINY_BERT_VOCAB });
    assert.deepEqual((await loadEncoderTokenizer(uncased)).encodeForEncoder(text, 64), full);
    const cased = await tempDir();
    await writeTokenizerFolder(cased, { vocabTxt: TINY_BERT_VOCAB, config: { ...GTE_TOKENIZER_CONFIG, do_lower_case: false } });
    assert.deepEqual((await loadEncoderTokenizer(cased)).encodeForEncoder('The bill', 8), [3, 2, 9, 4]);
  });

  it('says what is missing', async () => {
    const dir = await tempDir();
    await assert.rejects(loadEncoderTokenizer(dir), { name: 'WeightsError', message: `${dir}: neither tokenizer.json nor vocab.txt found; point the encoder path at a BERT model folder` });
    await writeTokenizerFolder(dir, { vocabTxt: ['[PAD]', '[UNK]', '[SEP]'] });
    await assert.rejects(loadEncoderTokenizer(dir), { name: 'WeightsError', message: 'vocabulary lacks the special token [CLS]' });
  });
});

describe('built-in tiny WordPiece vocabulary', () => {
  const words = ['Coffee', 'taxi', 'coffee', 'a', 'bill2'];

  it('lays out specials, ASCII characters with ## forms, then new words', () => {
    const vocab = tinyVocabulary(words);
    assert.deepEqual(vocab.slice(0, 7), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '!', '##!']);
    assert.deepEqual([vocab[81], vocab[82], vocab[139], vocab[140]], ['a', '##a', '~', '##~']);
    assert.deepEqual(vocab.slice(141), ['coffee', 'taxi', 'bill2']);
    assert.equal(vocab.filter((t) => /[A-Z]/.test(t) && !t.startsWith('[')).length, 0);
    assert.throws(() => tinyVocabulary(['e-commerce']), ConfigError);
  });

  it('is deterministic: the same words give byte-identical tokenizer.json, another order does not', () => {
    const a = JSON.stringify(buildWordPieceTokenizerJson(words));
    assert.equal(JSON.stringify(buildWordPieceTokenizerJson([...words])), a);
    assert.notEqual(JSON.stringify(buildWordPieceTokenizerJson(['taxi', 'coffee'])), a);
  });

  it('tokenizes any ASCII text without [UNK] and round-trips text', () => {
    const enc = tinyEncoderTokenizer(words);
    const dec = tinyTextTokenizer(words);
    let ascii = '\t\n';
    for (let c = 0x20; c <= 0x7e; c++) ascii += String.fromCharCode(c);
    const ids = enc.encodeForEncoder(`${ascii} MiXeD CaSe 123,456.78 ${ascii}`, 1000);
    assert.ok(ids.length > 100);
    assert.equal(ids.filter((id) => id === 1).length, 0);
    assert.deepEqual([ids[0], ids[ids.length - 1]], [2, 3]);
    assert.equal(enc.vocabSize, 144);
    assert.equal(dec.vocabSize, 144);
    assert.deepEqual(dec.encode('Coffee taxi'), [141, 142]);
    assert.deepEqual(dec.encode('paid'), [5 + 2 * 53, 6 + 2 * 38, 6 + 2 * 46, 6 + 2 * 41]); // p ##a ##i ##d
    const sentence = 'paid the coffee shop, then a taxi.';
    assert.equal(dec.decode(dec.encode(sentence)), sentence);
  });
});
