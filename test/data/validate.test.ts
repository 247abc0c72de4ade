import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRecordLine, validateRecord } from '../../src/data/validate.js';
import { DataError } from '../../src/errors.js';
import { record } from './helpers.js';

function errorOf(value: unknown): string {
  try {
    validateRecord(value, 'f.jsonl', 7);
  } catch (err) {
    assert.ok(err instanceof DataError);
    return err.message;
  }
  return 'valid';
}

describe('validateRecord', () => {
  it('accepts a full record and returns it unchanged', () => {
    const r = { ...record(1), labels: { game_topup: 1 as const, public_transit: 0 as const } };
    assert.deepEqual(validateRecord(JSON.parse(JSON.stringify(r)), 'f.jsonl', 1), r);
  });

  it('fills sources that are left out with empty lists', () => {
    const { sources, ...rest } = record(2);
    assert.deepEqual(validateRecord({ ...rest, sources: { bill: sources.bill } }, 'f', 1).sources, { bill: sources.bill, minipro: [], spm: [], search: [] });
  });

  it('names file, line and field for each kind of problem', () => {
    const r = record(3);
    const cases: Array<[unknown, string]> = [
      [[1], 'f.jsonl:7 (record): must be a JSON object; got a list'],
      [{ ...r, extra: 1 }, 'f.jsonl:7 extra: unknown field; allowed: user_id, sources, tabular, instruction, answer, labels'],
      [{ ...r, user_id: '' }, 'f.jsonl:7 user_id: must be a non-empty string; got the string ""'],
      [{ ...r, sources: { ...r.sources, bills: [] } }, 'f.jsonl:7 sources.bills: unknown source; allowed: bill, minipro, spm, search'],
      [{ ...r, sources: { ...r.sources, spm: {} } }, 'f.jsonl:7 sources.spm: must be a list of events; got an object'],
      [{ ...r, sources: { ...r.sources, bill: [{ ts: '02/03/2024' }] } }, 'f.jsonl:7 sources.bill[0].ts: must be an ISO-8601 date or date-time like "2024-03-02"; got "02/03/2024"'],
      [{ ...r, sources: { ...r.sources, search: [{ ts: '2024-03-02', text: 5 }] } }, 'f.jsonl:7 sources.search[0].text: must be a string; got number 5'],
      [{ ...r, sources: { ...r.sources, bill: [{ ts: '2024-03-02T10:00:00Z', tags: ['x'] }] } }, 'f.jsonl:7 sources.bill[0].tags: must be a string, finite number or boolean; got a list'],
      [{ ...r, tabular: { income: null } }, 'f.jsonl:7 tabular.income: must be a finite number or a string; got null'],
      [{ user_id: 'u', sources: {}, tabular: {}, answer: '' }, 'f.jsonl:7 instruction: missing; use null for general mode'],
      [{ ...r, instruction: 3 }, 'f.jsonl:7 instruction: must be a string or null; got number 3'],
      [{ ...r, answer: undefined }, 'f.jsonl:7 answer: must be a string (may be empty); got undefined undefined'],
      [{ ...r, labels: { game_topup: 2 } }, 'f.jsonl:7 labels.game_topup: must be 0 or 1; got 2'],
    ];
    assert.deepEqual(cases.map(([v]) => errorOf(v)), cases.map(([, m]) => m));
  });

  it('reports JSON syntax errors as field (line)', () => {
    assert.throws(() => parseRecordLine('{"user_id": ', 'g.jsonl', 12), (err: unknown) => err instanceof DataError && /^g\.jsonl:12 \(line\): not valid JSON/.test(err.message));
  });
});
