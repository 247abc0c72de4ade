import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { featurizeTabular, inferTabularSchema, type TabularSchema } from '../../src/data/tabular.js';
import { findTabularSchema, readTabularSchema, writeTabularSchema } from '../../src/data/tabular-file.js';
import { ConfigError } from '../../src/errors.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('tabular');
after(cleanup);

const schema: TabularSchema = {
  features: [
    { name: 'income', kind: 'numeric', mean: 100, std: 20 },
    { name: 'tier', kind: 'categorical', categories: ['1', '2', '3', '4', '5'] },
  ],
};

const close = (a: ArrayLike<number>, b: number[]) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-6, `index ${i}: ${a[i]} vs ${b[i]}`);
};

describe('featurizeTabular', () => {
  it('encodes numeric features as missing flag, z, tanh z, signed log and RBF bumps', () => {
    const z = 0.5;
    // D = 6: two bumps centred at −3 and 3 with width 6.
    const bumps = [-3, 3].map((c) => Math.exp(-((z - c) ** 2) / (2 * 36)));
    const out = featurizeTabular({ income: 110, tier: 2 }, schema, 6);
    close(out.subarray(0, 6), [0, z, Math.tanh(z), Math.log1p(z), ...bumps]);
    // tier "2" has index 1 → bucket 1 of D − 2 = 4 buckets.
    close(out.subarray(6), [0, 0, 0, 1, 0, 0]);
  });

  it('marks missing and unknown values, clips z, and hashes categories by index when D is small', () => {
    const out = featurizeTabular({ income: 'n/a', tier: '9' }, schema, 4);
    close(out, [1, 0, 0, 0, 0, 1, 0, 0]);
    const clipped = featurizeTabular({ income: 1e6 }, schema, 4);
    close(clipped, [0, 5, Math.tanh(5), Math.log1p(5), 1, 0, 0, 0]);
    // Category "5" has index 4 → bucket 4 mod 2 = 0 when D = 4.
    close(featurizeTabular({ income: 100, tier: '5' }, schema, 4).subarray(4), [0, 0, 1, 0]);
  });

  it('refuses D < 4', () => {
    assert.throws(() => featurizeTabular({}, schema, 3), ConfigError);
  });
});

describe('tabular schema', () => {
  it('is inferred independently of record order', () => {
    const records: Array<{ tabular: Record<string, number | string> }> = [{ tabular: { b: 'x', a: 1 } }, { tabular: { a: 3, b: 2 } }, { tabular: { b: 'y' } }];
    const expected: TabularSchema = {
      features: [
        { name: 'a', kind: 'numeric', mean: 2, std: 1 },
        { name: 'b', kind: 'categorical', categories: ['2', 'x', 'y'] },
      ],
    };
    assert.deepEqual(inferTabularSchema(records), expected);
    assert.deepEqual(inferTabularSchema(records.slice().reverse()), expected);
  });

  it('round-trips through tabular-schema.json, found beside or above the data', () => {
    writeTabularSchema(dir, schema);
    assert.deepEqual(readTabularSchema(findTabularSchema(join(dir, 'train'))), schema);
    assert.deepEqual(readTabularSchema(findTabularSchema(dir)), schema);
  });

  it('rejects a malformed schema file naming the problem', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ features: [{ name: 'x', kind: 'numeric', mean: 0, std: 0 }] }));
    assert.throws(() => readTabularSchema(path), /bad\.json: features\[0\]\.std must be a positive number/);
  });
});
