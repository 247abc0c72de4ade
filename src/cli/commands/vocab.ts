/**
 * @module cli/commands/vocab
 * `instructue vocab`: learns a WordPiece vocabulary from a UserQA data set (rendered records,
 * tabular lines, instructions, answers) and writes a standard Hugging Face tokenizer folder
 * (`tokenizer.json`, `tokenizer_config.json`, `vocab.txt`) that `model.encoder.tokenizer_dir`
 * and `model.decoder.tokenizer_dir` can point at. Prints the length budget of the data under
 * the config's current tokenizer and under the new one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/load.js';
import { encodeContextOf } from '../../model/encode-context.js';
import { budgetLayoutOf, LengthBudgetMeter, type LengthBudget } from '../../data/length-budget.js';
import { readSamples } from '../../data/reader.js';
import { findTabularSchema, readTabularSchema } from '../../data/tabular-file.js';
import type { UserQARecord } from '../../data/types.js';
import { CorpusReader, PROMPT_TEXTS } from '../../data/vocab-corpus.js';
import { UsageError } from '../../errors.js';
import { runTokenizers } from '../../train/run-model.js';
import { encoderTokenizerFromJson, textTokenizerFromJson, WORDPIECE_TOKENIZER_CONFIG } from '../../tokenizers/hf-tokenizer.js';
import { trainWordPiece, WordCounter } from '../../tokenizers/wordpiece-trainer.js';
import { intFlag, parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

const TINY_PRESET = fileURLToPath(new URL('../../../../configs/tiny.json', import.meta.url));

const usage = `usage: instructue vocab --data PATH --out DIR --size N [flags]

Learns a WordPiece vocabulary (BERT uncased, as Hugging Face's WordPieceTrainer) from the
training records' rendered events, tabular lines, instructions and answers, and writes
DIR/tokenizer.json, DIR/tokenizer_config.json and DIR/vocab.txt. Use it for both tokenizers:
  --set model.encoder.tokenizer_dir=DIR --set model.decoder.tokenizer_dir=DIR

  --data PATH          UserQA training file or folder (repeatable or comma-separated)
  --out DIR            tokenizer folder to write
  --size N             vocabulary size, specials and characters included (e.g. 4000)
  --min-frequency K    merge only pairs seen at least K times (default 2)
  --config FILE        config whose length budget is shown before/after (default configs/tiny.json)
  --set KEY=VALUE      override a key of that config (repeatable)
  --budget-records N   records measured for the budget (default 4000, spread evenly)
  --json               print the summary as JSON`;

interface VocabSummary {
  out: string;
  size: number;
  users: number;
  records: number;
  words: number;
  whole_words: number;
  whole_word_share: number;
  budget_before: LengthBudget;
  budget_after: LengthBudget;
}

const command: Command = {
  name: 'vocab',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      data: { type: 'string', multiple: true }, out: { type: 'string' }, size: { type: 'string' }, 'min-frequency': { type: 'string' },
      config: { type: 'string' }, set: { type: 'string', multiple: true }, 'budget-records': { type: 'string' }, json: { type: 'boolean' },
    }, usage);
    const data = required(values.data, 'data', usage).flatMap((d) => d.split(',')).filter(Boolean);
    const out = required(values.out, 'out', usage);
    const size = intFlag(required(values.size, 'size', usage), 'size')!;
    const minFrequency = intFlag(values['min-frequency'], 'min-frequency', 2)!;
    if (minFrequency < 1) throw new UsageError(`--min-frequency must be ≥ 1; got ${minFrequency}`);
    const config = loadConfig({ file: values.config ?? TINY_PRESET, env: {}, sets: values.set });

    const counter = new WordCounter();
    for (const t of PROMPT_TEXTS) counter.add(t);
    const corpus = new CorpusReader();
    const records: UserQARecord[] = [];
    for (const path of data) {
      for await (const { record } of readSamples(path, { onInvalid: config.data.on_invalid })) {
        for (const t of corpus.texts(record)) counter.add(t);
        records.push(record);
      }
    }
    if (corpus.records === 0) throw new UsageError(`${data.join(', ')} holds no records`);
    const trained = trainWordPiece(counter.counts, { size, minFrequency });
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(trained.tokenizerJson) + '\n');
    writeFileSync(join(out, 'tokenizer_config.json'), JSON.stringify(WORDPIECE_TOKENIZER_CONFIG, null, 2) + '\n');
    writeFileSync(join(out, 'vocab.txt'), trained.vocab.join('\n') + '\n');

    const schema = readTabularSchema(findTabularSchema(data[0]!, config.data.tabular_schema));
    const budgetRecords = intFlag(values['budget-records'], 'budget-records', 4000)!;
    const stride = Math.max(1, Math.ceil(records.length / Math.max(1, budgetRecords)));
    const measure = (tokenizers: { encoderTokenizer: ReturnType<typeof encoderTokenizerFromJson>; decoderTokenizer: ReturnType<typeof textTokenizerFromJson> }) => {
      const meter = new LengthBudgetMeter(encodeContextOf(config, tokenizers, schema), budgetLayoutOf(config.model, tokenizers.decoderTokenizer), { sampled: stride > 1 });
      for (let i = 0; i < records.length; i += stride) meter.add(records[i]!);
      return meter.result();
    };
    // The config's own tokenizers (the built-in vocabulary is the one src/train/run-model.ts gives the tiny preset).
    const before = measure(await runTokenizers(config));
    const after = measure({
      encoderTokenizer: encoderTokenizerFromJson(trained.tokenizerJson, WORDPIECE_TOKENIZER_CONFIG, join(out, 'tokenizer.json')),
      decoderTokenizer: textTokenizerFromJson(trained.tokenizerJson, WORDPIECE_TOKENIZER_CONFIG, join(out, 'tokenizer.json')),
    });
    const summary: VocabSummary = {
      out, size: trained.vocab.length, users: corpus.users, records: corpus.records, words: trained.words,
      whole_words: trained.wholeWords, whole_word_share: trained.wholeWordShare, budget_before: before, budget_after: after,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return 0;
    }
    const dir = resolve(out);
    const r = (b: LengthBudget) => b.recordTokens;
    process.stdout.write([
      `wrote a ${trained.vocab.length}-token WordPiece vocabulary to ${out} (from ${corpus.records} records of ${corpus.users} users; ${trained.wholeWords} of ${trained.words} distinct words, ${(100 * trained.wholeWordShare).toFixed(1)} % of word occurrences, are one token)`,
      r(before) && r(after)
        ? `encoder tokens per rendered record (limit ${config.model.encoder.max_len}): median ${r(before)!.p50} → ${r(after)!.p50}, p90 ${r(before)!.p90} → ${r(after)!.p90}; truncated ${(100 * r(before)!.share).toFixed(1)} % → ${(100 * r(after)!.share).toFixed(1)} %`
        : '',
      ...after.warnings.map((w) => `warning (new vocabulary): ${w}`),
      `use it with: --set model.encoder.tokenizer_dir=${dir} --set model.decoder.tokenizer_dir=${dir}`,
      '',
    ].filter((l) => l !== '').join('\n') + '\n');
    return 0;
  },
};

export default command;
