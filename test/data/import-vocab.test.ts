/**
 * `instructue vocab` on the imported ratings fixture: the tokenizer.json it writes loads in
 * `@huggingface/tokenizers` and in our own loaders, every word the data uses at least twice is
 * one token (and decodes back to itself), and it shortens the rendered records against the
 * built-in vocabulary.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { readSamples } from '../../src/data/reader.js';
import { CorpusReader } from '../../src/data/vocab-corpus.js';
import { loadEncoderTokenizer, loadTextTokenizer } from '../../src/tokenizers/hf-tokenizer.js';
import { trainWordPiece, WordCounter } from '../../src/tokenizers/wordpiece-trainer.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('vocab');
after(cleanup);
const cli = (...args: string[]) => execFileSync(process.execPath, ['bin/instructue.js', ...args], { encoding: 'utf8', stdio: 'pipe' });
const fx = join('test', 'fixtures', 'import', 'ratings');

describe('instructue vocab', () => {
  const data = join(dir, 'ratings');
  const out = join(dir, 'tok');
  let summary: { size: number; words: number; whole_words: number; budget_before: { recordTokens: { p50: number } }; budget_after: { recordTokens: { p50: number; share: number } } };

  it('writes a tokenizer folder that @huggingface/tokenizers loads', () => {
    cli('import', '--events', `rating=${join(fx, 'ratings.csv')}`, '--events', `tag=${join(fx, 'tags.csv')}`, '--users', join(fx, 'users.csv'),
      '--rules', 'configs/import/ratings-rules.json', '--out', data);
    summary = JSON.parse(cli('vocab', '--data', join(data, 'train'), '--out', out, '--size', '5000', '--json'));
    const tok = new Tokenizer(JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8')));
    assert.equal(tok.get_vocab(true).size, summary.size);
    assert.deepEqual(readFileSync(join(out, 'vocab.txt'), 'utf8').split('\n').slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    const encoded = tok.encode('Rated The Exorcist (1973) 4 of 5 (Horror)');
    assert.deepEqual(encoded.tokens, ['[CLS]', 'rated', 'the', 'exorcist', '(', '1973', ')', '4', 'of', '5', '(', 'horror', ')', '[SEP]']);
    assert.equal(tok.decode(encoded.ids, { skip_special_tokens: true }), 'rated the exorcist ( 1973 ) 4 of 5 ( horror )');
  });

  it('every word of the fixture used at least twice is one token, through our loaders too', async () => {
    const counter = new WordCounter();
    const corpus = new CorpusReader();
    for await (const { record } of readSamples(join(data, 'train'), { onInvalid: 'fail' })) for (const t of corpus.texts(record)) counter.add(t);
    const frequent = [...counter.counts].filter(([, n]) => n >= 2).map(([w]) => w);
    assert.ok(frequent.length > 80 && ['horror', 'thriller', 'comedy', 'creepy', 'rated', 'generous', 'harsh'].every((w) => frequent.includes(w)), frequent.join(' '));
    assert.ok(summary.size < 5000, 'merges ran out before the size: every pair seen twice was merged');
    const encoder = await loadEncoderTokenizer(out);
    const decoder = await loadTextTokenizer(out);
    for (const w of frequent) {
      assert.deepEqual(encoder.encode(w).length, 1, w);
      assert.equal(decoder.decode(decoder.encode(w)), w);
    }
    assert.deepEqual(encoder.encodeForEncoder('Tagged Alien (1979) as "creepy"', 64).length, 2 + 9);
  });

  it('shortens the rendered records against the built-in vocabulary', () => {
    assert.ok(summary.budget_after.recordTokens.p50 < summary.budget_before.recordTokens.p50 * 0.7, JSON.stringify([summary.budget_before.recordTokens, summary.budget_after.recordTokens]));
    // A tiny vocabulary cannot hold the characters: the message names the size needed.
    assert.throws(() => cli('vocab', '--data', join(data, 'train'), '--out', join(dir, 'small'), '--size', '50'), /--size 50 cannot hold the 5 special tokens and the \d+ character tokens; use at least \d+/);
  });
});

describe('trainWordPiece', () => {
  it('merges the most frequent pairs first, deterministically, and stops at the size', () => {
    const counts = new Map([['lower', 5], ['low', 7], ['newest', 6], ['widest', 3]]);
    const a = trainWordPiece(counts, { size: 150 });
    const b = trainWordPiece(new Map([...counts].reverse()), { size: 150 });
    assert.deepEqual(a.vocab, b.vocab);
    assert.equal(a.vocab.length, 150);
    // "##o ##w" and "l ##o" (12 times; ties go to the pair that sorts first), then "##e ##s" (9).
    const learned = a.vocab.slice(a.vocab.indexOf('##~') + 1);
    assert.deepEqual(learned.slice(0, 4), ['##ow', 'low', '##es', '##est']);
  });
});
