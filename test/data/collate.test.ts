import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeSample, shareBudget, type EncodeContext } from '../../src/data/collate.js';
import { renderEvent } from '../../src/data/render.js';
import { SYNTH_LEXICON } from '../../src/data/synth/lexicon.js';
import { featurizeTabular, type TabularSchema } from '../../src/data/tabular.js';
import type { Sample } from '../../src/data/types.js';
import { tinyEncoderTokenizer, tinyTextTokenizer } from '../../src/tokenizers/wordpiece-vocab.js';

const schema: TabularSchema = {
  features: [
    { name: 'age_band', kind: 'categorical', categories: ['18-24', '25-34'] },
    { name: 'monthly_income', kind: 'numeric', mean: 8000, std: 2000 },
  ],
};
const decoderTokenizer = tinyTextTokenizer(SYNTH_LEXICON);
const encoderTokenizer = tinyEncoderTokenizer(SYNTH_LEXICON);
const ctx: EncodeContext = {
  decoderTokenizer, encoderTokenizer, tabularSchema: schema, tabularDim: 6, maxRecordsPerSource: 2,
  encoderMaxLen: 8, maxInstructionTokens: 4, maxAnswerTokens: 5, textOnly: false, maxTextTokens: 30,
};

const bills = [
  { ts: '2024-01-09', amount: 30, item: 'a ramen set', category: 'noodles', channel: 'credit card' },
  { ts: '2024-01-01', amount: 5, item: 'a metro ride', category: 'public transit', channel: 'mobile wallet' },
  { ts: '2024-01-05', amount: 40, item: 'a takeaway lunch', category: 'food delivery', channel: 'mobile wallet' },
];
const sample: Sample = {
  id: 'part-00000:3',
  record: {
    user_id: 'u1',
    sources: { bill: bills, minipro: [], spm: [{ ts: '2024-01-02', page: 'games', element: 'top-up offer' }], search: [] },
    tabular: { age_band: '25-34', monthly_income: 9000 },
    instruction: 'What is this user\'s dining preference?',
    answer: 'The user prefers noodle shops and hotpot restaurants.',
  },
};

describe('encodeSample', () => {
  it('keeps the most recent records per source, oldest first, each as [CLS] … [SEP] within encoderMaxLen', () => {
    const out = encodeSample(sample, ctx);
    const expectBill = [bills[2], bills[0]].map((e) => encoderTokenizer.encodeForEncoder(renderEvent('bill', e), 8));
    assert.deepEqual(out.records, {
      bill: expectBill,
      minipro: [],
      spm: [encoderTokenizer.encodeForEncoder(renderEvent('spm', sample.record.sources.spm[0]), 8)],
      search: [],
    });
    for (const ids of expectBill) assert.deepEqual([ids.length, ids[0], ids[7]], [8, encoderTokenizer.clsId, encoderTokenizer.sepId]);
    assert.deepEqual(out.instruction, decoderTokenizer.encode(sample.record.instruction!).slice(0, 4));
    assert.deepEqual(out.answer, decoderTokenizer.encode(sample.record.answer).slice(0, 5));
    assert.equal(out.answer.length, 5);
    assert.deepEqual(out.tabular, featurizeTabular(sample.record.tabular, schema, 6));
    assert.equal(out.id, 'part-00000:3');
    assert.equal(out.text, undefined);
  });

  it('general mode has a null instruction', () => {
    assert.equal(encodeSample({ ...sample, record: { ...sample.record, instruction: null } }, ctx).instruction, null);
  });

  it('text-only mode tokenises each block within the shared budget, keeping the newest source tokens', () => {
    const out = encodeSample(sample, { ...ctx, textOnly: true });
    const full = {
      bill: decoderTokenizer.encode(`${renderEvent('bill', bills[2])}; ${renderEvent('bill', bills[0])}`),
      spm: decoderTokenizer.encode(renderEvent('spm', sample.record.sources.spm[0])),
      tabular: decoderTokenizer.encode('age band 25-34, monthly income 9000'),
    };
    const budget = shareBudget([full.bill.length, 0, full.spm.length, 0, full.tabular.length], 30);
    assert.equal(budget.reduce((a, b) => a + b, 0), 30);
    assert.deepEqual(out.text, {
      bill: full.bill.slice(full.bill.length - budget[0]),
      minipro: [],
      spm: full.spm.slice(full.spm.length - budget[2]),
      search: [],
      tabular: full.tabular.slice(0, budget[4]),
    });
    assert.deepEqual(out.records, { bill: [], minipro: [], spm: [], search: [] });
  });
});

describe('shareBudget', () => {
  it('water-fills: short blocks keep everything, long ones share the rest', () => {
    assert.deepEqual(shareBudget([3, 50, 0, 20, 40], 60), [3, 19, 0, 19, 19]);
    assert.deepEqual(shareBudget([3, 50, 0, 20, 40], 61), [3, 20, 0, 19, 19]);
    assert.deepEqual(shareBudget([3, 5], 100), [3, 5]);
    assert.deepEqual(shareBudget([10, 10, 10], 0), [0, 0, 0]);
  });
});
