/**
 * `instructue import` through the real CLI on small real files: the event-table fixture, JSONL,
 * cut rules with time of day, wide tables, source render templates with hidden fields, label
 * templates, the evaluation split, and the errors that name file, line and field (including a
 * damaged gzip file). Template functions are checked on hand-made users.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { Dataset } from '../../src/data/dataset.js';
import { readCsv } from '../../src/data/import/csv.js';
import { parseImportRules } from '../../src/data/import/rules.js';
import { parseTemplate, renderTemplate, templateValue, userScope, type UserView } from '../../src/data/import/template.js';
import { expandPattern } from '../../src/data/import/wide.js';
import { stepDate } from '../../src/data/import/time.js';
import { renderEvent } from '../../src/data/render.js';
import { readTabularSchema } from '../../src/data/tabular-file.js';
import type { SourceEvent, UserQARecord } from '../../src/data/types.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('import');
after(cleanup);

const fixtures = join('test', 'fixtures', 'import');
const rules = join('configs', 'import', 'example-rules.json');
const run = (...args: string[]) => execFileSync(process.execPath, ['bin/instructue.js', 'import', ...args], { encoding: 'utf8', stdio: 'pipe' });
const fails = (args: string[], check: (stderr: string) => boolean) =>
  assert.throws(() => run(...args), (err: { status: number; stderr: string }) => err.status === 2 && check(err.stderr));
const readRecords = (file: string): UserQARecord[] => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as UserQARecord);
const rulesFile = (name: string, value: object) => {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(value));
  return path;
};

describe('instructue import', () => {
  it('turns the CSV fixture into records the reader accepts', async () => {
    const out = join(dir, 'out');
    const summary = JSON.parse(run('--events', join(fixtures, 'events.csv'), '--users', join(fixtures, 'users.csv'), '--rules', rules, '--out', out, '--json'));
    assert.deepEqual({ ...summary, length_budget: undefined }, {
      users: 4,
      users_without_cut: 0,
      events: { history: 9, future: 3 },
      train: { users: 4, records: 14, files: [{ path: 'train/part-00000.jsonl', records: 14 }], general_skipped: 2, pairs_skipped: [2, 2, 0, 0] },
      eval: null,
      tabular_schema: 'inferred',
      length_budget: undefined,
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

  it('reads JSONL event tables with nested fields, and gzipped CSV, the same way', async () => {
    const jsonl = join(dir, 'events.jsonl');
    writeFileSync(jsonl, [
      { user_id: 'bob', source: 'payments', timestamp: 1706745600, fields: { item: 'game credits', category: 'mobile games', amount: 60, channel: 'mobile wallet' } },
      { user_id: 'bob', source: 'clicks', timestamp: '2024-02-02', page: 'games', element: 'top-up offer' },
      { user_id: 'bob', source: 'search', timestamp: '2024-02-05', text: 'new mobile games' },
    ].map((r) => JSON.stringify(r)).join('\n'));
    run('--events', jsonl, '--users', join(fixtures, 'users.csv'), '--rules', rules, '--out', join(dir, 'jsonl'));
    const gz = join(dir, 'events.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(fixtures, 'events.csv'))));
    run('--events', gz, '--users', join(fixtures, 'users.csv'), '--rules', rules, '--out', join(dir, 'gz'));
    const bob = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l.includes('"user_id":"bob"'));
    assert.deepEqual(bob(join(dir, 'jsonl', 'train', 'part-00000.jsonl')), bob(join(dir, 'out', 'train', 'part-00000.jsonl')));
    assert.equal(readFileSync(join(dir, 'gz', 'train', 'part-00000.jsonl'), 'utf8'), readFileSync(join(dir, 'out', 'train', 'part-00000.jsonl'), 'utf8'));
  });

  it('names file, line and column of a bad row, and every problem of a bad rules file', () => {
    const events = join(dir, 'bad.csv');
    copyFileSync(join(fixtures, 'events.csv'), events);
    writeFileSync(events, readFileSync(events, 'utf8') + 'erin,fax,2024-02-01,,,,,,,,,hello\n');
    fails(['--events', events, '--rules', rules, '--out', join(dir, 'bad')], (e) =>
      e.includes(`${events}:14 source: unknown source "fax"; map it to one of bill, minipro, spm, search under "sources" in the rules (${rules})`));
    const badRules = rulesFile('bad-rules', {
      sources: { fax: 'paper', web: { slot: 'spm', render: '{ratio(a)}', colour: 1 } },
      pairs: [{ instruction: 'q', answer: '{sum(bill)} and {sum(future:bill.amount)}' }, { instruction: 'r', answer: '{count(bill.amount~)} {if(1}' }],
      labels: { churn: '{band(attr(x), 1, "a")}' },
      cutoff: { before_last: 'a month' },
      extra: 1,
    });
    fails(['--events', events, '--rules', badRules, '--out', join(dir, 'bad')], (e) => [
      'extra: unknown key',
      'sources.fax: must be one of bill, minipro, spm, search; got "paper"',
      'sources.web.colour: unknown key; allowed: slot, render, order, units, hide',
      'sources.web.render: {ratio(a)}: ratio() takes 2 arguments; got 1',
      'cutoff.before_last: must be a duration like "30d", "12h" or "90min"; got "a month"',
      'pairs[0].answer: {sum(bill)}: sum(bill): sum needs source.field',
      'labels.churn: {band(attr(x), 1, "a")}: band() takes at least 4 arguments; got 3',
      'pairs[1].answer: {count(bill.amount~)}: count(bill.amount~): ~ needs a word or a list [a, b]',
    ].every((m) => e.includes(m)));
  });

  it('a damaged gzip table is an error naming the file and the last line read whole', () => {
    const lines = Array.from({ length: 4000 }, (_, i) => JSON.stringify({ user_id: `u${i % 7}`, source: 'payments', timestamp: '2024-02-01', amount: i, item: `thing number ${i} with some words` }));
    const whole = gzipSync(Buffer.from(lines.join('\n') + '\n'));
    const cut = join(dir, 'cut.jsonl.gz');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    assert.throws(() => run('--events', cut, '--rules', rules, '--out', join(dir, 'cut')), (err: { status: number; stderr: string }) => {
      const m = /cut\.jsonl\.gz:(\d+) \(gzip\): the gzip stream is truncated \(zlib Z_BUF_ERROR: unexpected end of file\); line (\d+) is the last complete line — re-copy or re-create the file/.exec(err.stderr);
      return err.status === 2 && m !== null && Number(m[1]) === Number(m[2]) + 1 && Number(m[2]) > 100 && !err.stderr.includes('    at ');
    });
  });

  it('per-user cut times with time of day: events at or after the cut are never inputs, only future aggregates', () => {
    const events = join(dir, 'cut-events.csv');
    writeFileSync(events, [
      'user_id,source,timestamp,amount,item',
      'ann,payments,2024-03-01T09:59:59Z,10,tea',
      'ann,payments,2024-03-01T10:00:00Z,20,cake', // exactly at ann's cut: future
      'ann,payments,2024-03-02T08:00:00Z,30,lunch',
      'ben,payments,2024-03-01T10:00:00Z,5,tea', // before ben's cut
      'ben,payments,2024-03-05,7,tea',
      'cat,payments,2024-03-01,1,tea', // no cut: left out
    ].join('\n') + '\n');
    const users = join(dir, 'cut-users.csv');
    writeFileSync(users, 'user_id,cut_at,city\nann,2024-03-01T10:00,x\nben,1709370000,y\ncat,,z\n');
    const r = rulesFile('cut-rules', {
      sources: { payments: { slot: 'bill', render: 'paid {amount} for {item}' } },
      cutoff: { column: 'cut_at' },
      general: 'Spent {sum(bill.amount)} before, {sum(future:payments.amount)} after; last bought {last(payments.item)}.',
    });
    const summary = JSON.parse(run('--events', events, '--users', users, '--rules', r, '--out', join(dir, 'cut-out'), '--json'));
    assert.deepEqual([summary.users, summary.users_without_cut, summary.events], [2, 1, { history: 2, future: 3 }]);
    const recs = readRecords(join(dir, 'cut-out', 'train', 'part-00000.jsonl'));
    assert.deepEqual(recs.map((x) => [x.user_id, x.sources.bill, x.tabular, x.answer]), [
      ['ann', [{ ts: '2024-03-01T09:59:59Z', line: 'paid 10 for tea', amount: 10, item: 'tea' }], { city: 'x' }, 'Spent 10 before, 50 after; last bought tea.'],
      // ben's cut 1709370000 = 2024-03-02T09:00:00Z
      ['ben', [{ ts: '2024-03-01T10:00:00Z', line: 'paid 5 for tea', amount: 5, item: 'tea' }], { city: 'y' }, 'Spent 5 before, 7 after; last bought tea.'],
    ]);
    assert.equal(renderEvent('bill', recs[0]!.sources.bill[0]!), 'On 2024-03-01 at 09:59 paid 10 for tea');
    // The other per-user rules: the last 1 day of each user, and the latest third of their events.
    const byRule = (cutoff: object | string) => readRecords((run('--events', events, '--rules', rulesFile('r2', { sources: { payments: 'bill' }, cutoff, general: '{count(future:bill)}' }), '--out', join(dir, 'cut2'), '--force'), join(dir, 'cut2', 'train', 'part-00000.jsonl')))
      .map((x) => [x.user_id, x.sources.bill.map((e) => e.amount), x.answer]);
    assert.deepEqual(byRule({ before_last: '1d' }), [['ann', [], '3'], ['ben', [5], '1'], ['cat', [], '1']]);
    assert.deepEqual(byRule({ future_share: 0.34 }), [['ann', [10, 20], '1'], ['ben', [5], '1'], ['cat', [], '1']]);
    assert.deepEqual(byRule('2024-03-01T10:00:00Z'), [['ann', [10], '2'], ['ben', [], '2'], ['cat', [1], '0']]);
  });

  it('wide tables: one event per period with its date; hidden fields feed answers but are not written', () => {
    const wide = join(dir, 'wide.csv');
    writeFileSync(wide, 'ID,AGE,PAY_0,PAY_2,PAY_3,BILL_AMT1,BILL_AMT2,BILL_AMT3,PAY_AMT1,PAY_AMT2,PAY_AMT3,default\n7,30,2,0,-1,900,800,,10,0,,1\n8,41,,,,,,,,,,0\n');
    const r = rulesFile('wide-rules', {
      columns: { user_id: 'ID' },
      sources: { statement: { slot: 'bill', render: 'billed {billed} NT dollars{if(delay > 0, \', \' + delay + \' months late\', \'\')}' } },
      wide: { source: 'statement', fields: { billed: 'BILL_AMT{1..3}', paid: 'PAY_AMT{1..3}', delay: 'PAY_{0,2..3}' }, dates: { first: '2005-09-30', step: '-1 month' } },
      labels: ['default'],
      general: 'Paid {sum(statement.paid)} of {sum(statement.billed)}; {ratio(sum(statement.paid), sum(statement.billed))|pct}.',
    });
    run('--wide', wide, '--rules', r, '--out', join(dir, 'wide-out'));
    const recs = readRecords(join(dir, 'wide-out', 'train', 'part-00000.jsonl'));
    // Client 8 has no statement at all: the general answer's ratio has no value, so no record.
    assert.deepEqual(recs.map((x) => [x.user_id, x.sources.bill, x.tabular, x.answer, x.labels]), [
      ['7', [
        { ts: '2005-07-31', line: 'billed NT dollars', delay: -1 },
        { ts: '2005-08-31', line: 'billed 800 NT dollars', billed: 800, delay: 0 },
        { ts: '2005-09-30', line: 'billed 900 NT dollars, 2 months late', billed: 900, delay: 2 },
      ], { AGE: 30 }, 'Paid 10 of 1700; 1%.', { default: 1 }],
    ]);
    fails(['--wide', join(fixtures, 'users.csv'), '--rules', r, '--out', join(dir, 'wide-bad')], (e) =>
      /users\.csv:2 BILL_AMT1: column of the rules' "wide" patterns is not in the header \(missing: BILL_AMT1, BILL_AMT2, BILL_AMT3, PAY_AMT1/.test(e));
  });

  it('an evaluation split: labels from future-window templates, disjoint users, the schema kept', () => {
    const r = rulesFile('eval-rules', {
      sources: { payments: 'bill', miniapp: 'minipro', clicks: 'spm', search: 'search' },
      cutoff: '2024-03-01',
      labels: { spends_next: '{count(future:bill) > 0}', supermarket_next: '{if(count(future:bill.category in [supermarket, grocery]) > 0, 1, 0)}', from_column: '{attr(bought_game_credits)}' },
      general: '',
    });
    const out = join(dir, 'split');
    const both = JSON.parse(run('--events', join(fixtures, 'events.csv'), '--users', join(fixtures, 'users.csv'), '--rules', r, '--out', out, '--eval-share', '0.5', '--json'));
    const trainUsers = readRecords(join(out, 'train', 'part-00000.jsonl')).map((x) => x.user_id);
    const evalRecs = readRecords(join(out, 'eval', 'part-00000.jsonl'));
    assert.equal(trainUsers.length + evalRecs.length, 4);
    assert.deepEqual(trainUsers.filter((u) => evalRecs.some((e) => e.user_id === u)), []);
    assert.equal(both.eval.users, evalRecs.length);
    const schema = readFileSync(join(out, 'tabular-schema.json'), 'utf8');
    // --eval alone: every user, general mode, empty answers, the labels; the schema is kept.
    const only = JSON.parse(run('--events', join(fixtures, 'events.csv'), '--users', join(fixtures, 'users.csv'), '--rules', r, '--out', out, '--eval', '--force', '--json'));
    assert.deepEqual([only.train, only.eval.users, only.eval.labels, only.tabular_schema], [null, 4, {
      spends_next: { labelled: 4, positives: 2 }, supermarket_next: { labelled: 4, positives: 1 }, from_column: { labelled: 4, positives: 1 },
    }, 'kept']);
    assert.equal(readFileSync(join(out, 'tabular-schema.json'), 'utf8'), schema);
    assert.ok(existsSync(join(out, 'import-eval.json')));
    const all = readRecords(join(out, 'eval', 'part-00000.jsonl'));
    assert.deepEqual(all.map((x) => [x.user_id, x.instruction, x.answer, x.labels, Object.keys(x.tabular)]), [
      ['alice', null, '', { spends_next: 1, supermarket_next: 1, from_column: 0 }, ['age_band', 'city_tier', 'monthly_income']],
      ['bob', null, '', { spends_next: 0, supermarket_next: 0, from_column: 1 }, ['age_band', 'city_tier', 'monthly_income']],
      ['carol', null, '', { spends_next: 1, supermarket_next: 0, from_column: 0 }, ['age_band', 'city_tier', 'monthly_income']],
      ['dave', null, '', { spends_next: 0, supermarket_next: 0, from_column: 0 }, ['age_band', 'city_tier', 'monthly_income']],
    ]);
  });

  it('--events SOURCE=FILE reads a table without a source column; a missing one says how', () => {
    const t = join(dir, 'nosource.csv');
    writeFileSync(t, 'user_id,timestamp,amount\nzed,2024-02-01,3\n');
    const r = rulesFile('nosource', { sources: { pay: { slot: 'bill', order: ['amount'], units: { amount: 'euro' } } }, general: '{count(pay)}' });
    run('--events', `pay=${t}`, '--rules', r, '--out', join(dir, 'nosource'));
    assert.deepEqual(readRecords(join(dir, 'nosource', 'train', 'part-00000.jsonl'))[0]!.sources.bill, [{ ts: '2024-02-01', line: 'amount 3 euro', amount: 3 }]);
    fails(['--events', t, '--rules', r, '--out', join(dir, 'nosource2')], (e) => e.includes(`${t}:2 source: missing source; give the column "source" (rules: columns.source), or read the whole table as one source with --events SOURCE=${t}`));
  });
});

describe('import templates', () => {
  const ev = (fields: Record<string, string | number>, ts = '2024-01-01'): SourceEvent => ({ ts, ...fields });
  const ratings = [ev({ genres: 'Horror|Thriller', stars: 5, id: 1 }), ev({ genres: 'Comedy', stars: 2, id: 2 }), ev({ genres: 'Comedy|Romance', stars: 4, id: 2 }), ev({ genres: 'Drama', stars: 3, id: 3 })];
  const view: UserView = {
    history: new Map([['rating', ratings], ['minipro', ratings]]),
    future: new Map([['rating', [ev({ genres: 'Horror', stars: 1, id: 9 })]], ['minipro', []]]),
    attrs: { age: 37, city: 'Oslo' },
  };
  const ctx = { kind: 'user' as const, sources: new Set(['rating', 'minipro']), hasFuture: true };
  const fill = (text: string) => renderTemplate(parseTemplate(text, ctx), userScope(view));

  it('ratios, any-of sets, word matches, where, thresholds, conditional text and filters', () => {
    assert.equal(fill('{ratio(count(rating.genres~comedy), count(rating))|pct}'), '50%');
    assert.equal(fill('{count(rating.genres in [Comedy, Drama])} {count(rating.genres~[horror, drama])} {count(rating.stars>=4)} {count(rating.genres!=Comedy)}'), '2 2 2 3');
    assert.equal(fill('{mean(rating.stars where genres~comedy)|fixed(1)} {distinct(rating.id)} {first(rating.genres)} {last(rating.stars)} {top(rating.id)}'), '3.0 3 Horror|Thriller 3 2');
    assert.equal(fill("{band(mean(rating.stars), 3, 'harsh', 4, 'typical', 'generous')} {band(attr(age), 30, 'young', 'older')}"), 'typical older');
    assert.equal(fill("{if(count(future:rating.genres~horror) > 0, 'will watch ' + count(future:rating) + ' horror', 'no horror')}"), 'will watch 1 horror');
    assert.equal(fill("{anyof(city, 'Oslo', 'Bergen')} {age * 2 - 4} {replace(first(rating.genres), '|', ', ')} {sum(rating.stars)|round(5)}"), 'yes 70 Horror, Thriller 15');
    assert.equal(fill('{mean(future:minipro.stars)}'), undefined, 'a missing aggregate leaves the pair out');
    assert.equal(templateValue(parseTemplate('{count(future:rating) > 0 and age > 30}', ctx), userScope(view)), true);
  });

  it('parse errors name the slot and the problem', () => {
    const bad = (text: string, msg: RegExp) => assert.throws(() => parseTemplate(text, ctx), msg);
    bad('{nope(rating)}', /\{nope\(rating\)\}: unknown function "nope"/);
    bad('{count(films)}', /"films" is not a source; use one of rating, minipro/);
    bad('{count(rating.stars>)}', />= needs a number|> needs a number/);
    bad('{count(rating.genres in Horror)}', /a value list is written \[a, b, c\]/);
    bad('{ratio(1, 2}', /not closed|expected "\)"/);
    bad('{attr(x)|round(0)}', /round\(step\) needs a positive number/);
    assert.throws(() => parseTemplate('{count(future:rating)}', { ...ctx, hasFuture: false }), /"future:" needs a cut rule/);
    assert.throws(() => parseTemplate('{count(rating)}', { ...ctx, kind: 'event' }), /render templates see one event/);
  });

  it('rules: label templates hide the attributes they read; the cut column is hidden too', () => {
    const r = parseImportRules({ cutoff: { column: 'cut' }, labels: { d: '{attr(default_flag)}' }, hide_attributes: ['zip'], general: '' }, 'r.json');
    assert.deepEqual([...r.hiddenAttributes].sort(), ['cut', 'default_flag', 'zip']);
  });

  it('wide patterns and calendar steps', () => {
    assert.deepEqual(expandPattern('PAY_{0,2..4}'), ['PAY_0', 'PAY_2', 'PAY_3', 'PAY_4']);
    assert.deepEqual(expandPattern('B{3..1}x'), ['B3x', 'B2x', 'B1x']);
    assert.throws(() => expandPattern('PAY'), /must hold one \{…\} period list/);
    assert.deepEqual([0, 1, 2, 7].map((k) => stepDate('2005-09-30', { months: -1, days: 0 }, k)), ['2005-09-30', '2005-08-31', '2005-07-31', '2005-02-28']);
    assert.deepEqual([0, 1].map((k) => stepDate('2024-01-31T12:00:00Z', { months: 1, days: 0 }, k)), ['2024-01-31T12:00:00Z', '2024-02-29T12:00:00Z']);
    assert.equal(stepDate('2024-02-27', { months: 0, days: 7 }, 1), '2024-03-05');
  });
});

describe('readCsv', () => {
  it('handles quotes, escaped quotes, newlines in quotes, CRLF and a BOM', async () => {
    const file = join(dir, 'q.csv');
    writeFileSync(file, '\uFEFFa,b\r\n1,"x, ""y"""\r\n"multi\nline",2\r\n\r\nlast,\r\n');
    const rows = [];
    for await (const r of readCsv(file)) rows.push({ line: r.line, values: r.values });
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
      for await (const r of readCsv(file)) rows.push({ line: r.line, values: r.values });
      assert.deepEqual(rows, [{ line: 2, values: { a: expected, b: '2' } }]);
    }
  });
});
