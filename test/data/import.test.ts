import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Dataset } from '../../src/data/dataset.js';
import { readCsv } from '../../src/data/import/csv.js';
import { readTabularSchema } from '../../src/data/tabular-file.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('import');
after(cleanup);

const fixtures = join('test', 'fixtures', 'import');
const rules = join('configs', 'import', 'example-rules.json');
const run = (...args: string[]) => execFileSync(process.execPath, ['bin/instructue.js', 'import', ...args], { encoding: 'utf8', stdio: 'pipe' });

describe('instructue import', () => {
  it('turns the CSV fixture into records the reader accepts', async () => {
    const out = join(dir, 'out');
    const summary = JSON.parse(run('--events', join(fixtures, 'events.csv'), '--users', join(fixtures, 'users.csv'), '--rules', rules, '--out', out, '--json'));
    assert.deepEqual(summary, {
      users: 4,
      records: 14,
      events: { history: 9, future: 3 },
      general_skipped: 2,
      pairs_skipped: [2, 2, 0, 0],
      files: [{ path: 'train/part-00000.jsonl', records: 14 }],
    });
    const ds = await Dataset.open(join(out, 'train'), { onInvalid: 'fail' });
    try {
      assert.equal(ds.size, 14);
      const samples = await ds.get([5, 9]);
      const bobProfile = {
        user_id: 'bob',
        sources: {
          bill: [{ ts: '2024-02-01T00:00:00Z', item: 'game credits', category: 'mobile games', amount: 60, channel: 'mobile wallet' }],
          minipro: [],
          spm: [{ ts: '2024-02-02', page: 'games', element: 'top-up offer' }],
          search: [{ ts: '2024-02-05', text: 'new mobile games' }],
        },
        tabular: { age_band: '18-24', city_tier: 2, monthly_income: 6000 },
      };
      assert.deepEqual(samples, [
        { id: 'part-00000:6', record: { ...bobProfile, instruction: null, answer: 'The user paid 1 bills, most often for mobile games.', labels: { bought_game_credits: 1 } } },
        { id: 'part-00000:10', record: { ...bobProfile, instruction: "Predict the user's spend next month.", answer: 'The user will spend about 0 yuan next month.', labels: { bought_game_credits: 1 } } },
      ]);
      const alice = (await ds.get([0, 2, 3, 4])).map((s) => s.record.answer);
      assert.deepEqual(alice, [
        'The user paid 3 bills, most often for food delivery.',
        'About 40 yuan per bill.',
        'The user ordered food delivery 2 times.',
        'The user will spend about 130 yuan next month.',
      ]);
    } finally {
      await ds.close();
    }
    assert.deepEqual(readTabularSchema(join(out, 'tabular-schema.json')).features.map((f) => [f.name, f.kind]), [
      ['age_band', 'categorical'], ['city_tier', 'numeric'], ['monthly_income', 'numeric'],
    ]);
  });

  it('reads JSONL event tables with nested fields the same way', async () => {
    const jsonl = join(dir, 'events.jsonl');
    writeFileSync(jsonl, [
      { user_id: 'bob', source: 'payments', timestamp: 1706745600, fields: { item: 'game credits', category: 'mobile games', amount: 60, channel: 'mobile wallet' } },
      { user_id: 'bob', source: 'clicks', timestamp: '2024-02-02', page: 'games', element: 'top-up offer' },
      { user_id: 'bob', source: 'search', timestamp: '2024-02-05', text: 'new mobile games' },
    ].map((r) => JSON.stringify(r)).join('\n'));
    run('--events', jsonl, '--users', join(fixtures, 'users.csv'), '--rules', rules, '--out', join(dir, 'jsonl'));
    const csvLines = readFileSync(join(dir, 'out', 'train', 'part-00000.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"user_id":"bob"'));
    const jsonlLines = readFileSync(join(dir, 'jsonl', 'train', 'part-00000.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"user_id":"bob"'));
    assert.deepEqual(jsonlLines, csvLines);
  });

  it('names file, line and column of a bad row, and every problem of a bad rules file', () => {
    const events = join(dir, 'bad.csv');
    copyFileSync(join(fixtures, 'events.csv'), events);
    writeFileSync(events, readFileSync(events, 'utf8') + 'erin,fax,2024-02-01,,,,,,,,,hello\n');
    assert.throws(() => run('--events', events, '--rules', rules, '--out', join(dir, 'bad')), (err: { status: number; stderr: string }) =>
      err.status === 2 && err.stderr.includes(`${events}:14 source: unknown source "fax"; map it to one of bill, minipro, spm, search under "sources" in the rules`));
    const badRules = join(dir, 'rules.json');
    writeFileSync(badRules, JSON.stringify({ sources: { fax: 'paper' }, pairs: [{ instruction: 'q', answer: '{sum(bill)} and {sum(future:bill.amount)}' }], extra: 1 }));
    assert.throws(() => run('--events', events, '--rules', badRules, '--out', join(dir, 'bad')), (err: { status: number; stderr: string }) =>
      err.status === 2 &&
      err.stderr.includes('extra: unknown key') &&
      err.stderr.includes('sources.fax: must be one of bill, minipro, spm, search; got "paper"') &&
      err.stderr.includes('pairs[0].answer: {sum(bill)}: sum needs source.field'));
  });
});

describe('readCsv', () => {
  it('handles quotes, escaped quotes, newlines in quotes, CRLF and a BOM', async () => {
    const file = join(dir, 'q.csv');
    writeFileSync(file, '\uFEFFa,b\r\n1,"x, ""y"""\r\n"multi\nline",2\r\n\r\nlast,\r\n');
    const rows = [];
    for await (const r of readCsv(file)) rows.push(r);
    assert.deepEqual(rows, [
      { line: 2, values: { a: '1', b: 'x, "y"' } },
      { line: 3, values: { a: 'multi\nline', b: '2' } },
      { line: 6, values: { a: 'last', b: '' } },
    ]);
  });

  it('handles a quote on the last byte of a 64 KiB read chunk', async () => {
    // Header (4 bytes) + opening quote + 65530 bytes puts the next quote at offset 65535.
    const pad = 'x'.repeat(65530);
    const cases: Array<[string, string]> = [[`a,b\n"${pad}""y",2\n`, `${pad}"y`], [`a,b\n"${pad}",2\n`, pad]];
    for (const [text, expected] of cases) {
      const file = join(dir, 'edge.csv');
      writeFileSync(file, text);
      const rows = [];
      for await (const r of readCsv(file)) rows.push(r);
      assert.deepEqual(rows, [{ line: 2, values: { a: expected, b: '2' } }]);
    }
  });
});
