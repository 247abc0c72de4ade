/**
 * The length budget (src/data/length-budget.ts): on records whose rendered lines have known
 * token counts, the meter counts exactly the lines over model.encoder.max_len and warns with
 * that share; `import` prints the warning, and `--fail-on-truncation` stops before writing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { budgetLayoutOf, formatLengthBudget, measureLengthBudget } from '../../src/data/length-budget.js';
import type { EncodeContext } from '../../src/data/collate.js';
import type { UserQARecord } from '../../src/data/types.js';
import { encoderTokenizerFromJson, textTokenizerFromJson, wordPieceTokenizerJson } from '../../src/tokenizers/hf-tokenizer.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('length-budget');
after(cleanup);

// A vocabulary in which every word below is one token: "On 2024-01-01 w w w" is
// on, 2024, -, 01, -, 01 (6 tokens) + one per "w"; +2 for [CLS] and [SEP].
const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'on', '2024', '-', '01', 'w', 'q', 'a'];
const json = wordPieceTokenizerJson(vocab, { lowercase: true });
const context: EncodeContext = {
  decoderTokenizer: textTokenizerFromJson(json), encoderTokenizer: encoderTokenizerFromJson(json),
  tabularSchema: { features: [{ name: 'x', kind: 'numeric', mean: 0, std: 1 }] }, tabularDim: 4,
  maxRecordsPerSource: 3, encoderMaxLen: 12, maxInstructionTokens: 4, maxAnswerTokens: 5, textOnly: false, maxTextTokens: 100,
};
const layout = budgetLayoutOf({ preamble: 'none', use_sequences: true, use_tabular: true, decoder: { max_positions: 30 } }, context.decoderTokenizer);

/** A record with one search event per entry of `words` (each event's line has 8 + words tokens). */
function record(words: number[], instruction: string | null, answer: string): UserQARecord {
  return {
    user_id: 'u', tabular: { x: 1 }, instruction, answer,
    sources: { bill: [], minipro: [], spm: [], search: words.map((n, i) => ({ ts: '2024-01-01', line: Array(n).fill('w').join(' '), k: i })) },
  };
}

describe('length budget', () => {
  // Lines of 8 + n encoder tokens against a limit of 12: n = 1, 2, 4 fit; n = 5, 9 do not. The
  // third record has 4 events, so its oldest is left out (max_records_per_source 3), not measured.
  const records = [record([2, 5], 'q q', 'a'), record([4, 9], 'q q q q q q', 'a a a a a a a'), record([1, 1, 1, 2], null, '')];
  const budget = measureLengthBudget(records, context, layout, { threshold: 0.1 });

  it('counts the records over each limit and their share, with the distribution', () => {
    assert.deepEqual(budget.recordTokens, { key: 'model.encoder.max_len', limit: 12, count: 7, over: 2, share: 2 / 7, p50: 10, p90: 17, p99: 17, max: 17 });
    assert.deepEqual([budget.instructionTokens.over, budget.instructionTokens.count, budget.answerTokens.over, budget.answerTokens.max], [1, 2, 1, 7]);
    assert.deepEqual(budget.events, { total: 8, dropped: 1, share: 1 / 8, key: 'data.max_records_per_source', limit: 3 });
    // Positions: <bill></bill> <minipro></minipro> <spm></spm> <search> r r </search> <tabular> f </tabular>
    // Instruction: q q <USER> a = 2+2+2+4+3 + (2+2) + 1 + 1 = 19 ("Instruction:" is 2 tokens here);
    // the second 2+2+2+4+3 + (2+4) + 1 + 5 = 25; the third 2+2+2+5+3 + 1 = 15.
    assert.deepEqual([budget.positions.max, budget.positions.p50, budget.positions.over], [25, 19, 0]);
  });

  it('warns with the share for every budget above the threshold, naming the key to raise', () => {
    assert.equal(budget.warnings.length, 4);
    assert.match(budget.warnings[0]!, /^28\.6 % of rendered records \(2 of 7\) are longer than model\.encoder\.max_len = 12 encoder tokens .*Raise model\.encoder\.max_len \(to 17 keeps 90 % whole\)/);
    assert.match(budget.warnings[1]!, /^50\.0 % of instructions \(1 of 2\) are longer than data\.max_instruction_tokens = 4/);
    assert.match(budget.warnings[2]!, /^33\.3 % of answers \(1 of 3\) are longer than data\.max_answer_tokens = 5/);
    assert.match(budget.warnings[3]!, /^12\.5 % of events \(1 of 8\) are older than the 3 most recent per source/);
    assert.match(formatLengthBudget(budget), /model\.encoder\.max_len\s+limit\s+12\s+median\s+10\s+p90\s+17\s+p99\s+17\s+max\s+17\s+over\s+28\.6 % \(2\/7\)/);
    // Sequences over max_positions always warn: training would stop on them.
    const tight = measureLengthBudget(records, context, { ...layout, maxPositions: 20 }, { threshold: 0.9 });
    assert.deepEqual(tight.warnings.length, 1);
    assert.match(tight.warnings[0]!, /^33\.3 % of records \(1 of 3\) need more than model\.decoder\.max_positions = 20 decoder positions.*training stops/);
  });

  it('import prints the warning with the share and --fail-on-truncation writes nothing', () => {
    const events = join(dir, 'events.csv');
    // Search lines "On 2024-01-01 searched for "w …"": short ones and long ones, 2 of 5 long.
    const rows = ['user_id,source,timestamp,text', ...[1, 2, 30, 2, 40].map((n, i) => `u${i},search,2024-01-01,${Array(n).fill('w').join(' ')}`)];
    writeFileSync(events, rows.join('\n') + '\n');
    const rules = join(dir, 'rules.json');
    writeFileSync(rules, JSON.stringify({ general: '{count(search)}' }));
    const args = ['bin/instructue.js', 'import', '--events', events, '--rules', rules, '--out', join(dir, 'out'), '--set', 'model.encoder.max_len=24'];
    const ok = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: 'pipe' });
    assert.match(ok, /wrote 5 training records for 5 users/);
    let stderr = '';
    try {
      execFileSync(process.execPath, [...args, '--fail-on-truncation', '--out', join(dir, 'out2')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      stderr = (err as { stderr: string; status: number }).stderr;
      assert.equal((err as { status: number }).status, 2);
    }
    assert.match(stderr, /warning: 40\.0 % of rendered records \(2 of 5\) are longer than model\.encoder\.max_len = 24 encoder tokens/);
    assert.match(stderr, /--fail-on-truncation: 1 length budget\(s\) of configs\/tiny\.json cut more than 1\.0 % \(warnings above\); nothing was written/);
    assert.ok(!existsSync(join(dir, 'out2')));
  });
});
