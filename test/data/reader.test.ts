import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Dataset } from '../../src/data/dataset.js';
import { readSamples } from '../../src/data/reader.js';
import { DataError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { record, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('reader');
after(cleanup);

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => JSON.stringify(record(from + k)));

// shard a: 5 valid lines; shard b: line 3 is malformed (answer is a number), plus a blank line 5.
const folder = join(dir, 'set');
const bad = { ...record(7), answer: 42 };
mkdirSync(folder);
writeFileSync(join(folder, 'a.jsonl'), lines(0, 5).join('\n') + '\n');
writeFileSync(join(folder, 'b.jsonl.gz'), gzipSync([...lines(5, 7), JSON.stringify(bad), ...lines(8, 9), '', ...lines(9, 11)].join('\n')));
const badFile = join(folder, 'b.jsonl.gz');
const expectedMessage = `${badFile}:3 answer: must be a string (may be empty); got number 42`;

function captureLog() {
  const out: Array<Record<string, unknown>> = [];
  return { log: createLogger({}, { write: (l) => out.push(JSON.parse(l) as Record<string, unknown>) }), out };
}

describe('readSamples', () => {
  it('fail: stops at the malformed line with file:line field: reason', async () => {
    const seen: string[] = [];
    await assert.rejects(
      async () => {
        for await (const s of readSamples(folder, { onInvalid: 'fail' })) seen.push(s.id);
      },
      (err: unknown) => err instanceof DataError && err.message === expectedMessage && err.field === 'answer' && err.line === 3,
    );
    assert.deepEqual(seen, ['a:1', 'a:2', 'a:3', 'a:4', 'a:5', 'b:1', 'b:2']);
  });

  it('skip: reads everything else and reports exactly 1 skipped record', async () => {
    const { log, out } = captureLog();
    const stream = readSamples(folder, { onInvalid: 'skip', log });
    const got = [];
    for await (const s of stream) got.push([s.id, s.record.user_id]);
    assert.deepEqual(got, [
      ['a:1', 'user0'], ['a:2', 'user1'], ['a:3', 'user2'], ['a:4', 'user3'], ['a:5', 'user4'],
      ['b:1', 'user5'], ['b:2', 'user6'], ['b:4', 'user8'], ['b:6', 'user9'], ['b:7', 'user10'],
    ]);
    assert.equal(stream.skipped, 1);
    assert.deepEqual(stream.skipReasons, [expectedMessage]);
    assert.deepEqual(out.map((l) => [l.msg, l.skipped, l.first]), [['skipped invalid records', 1, [expectedMessage]]]);
  });
});

describe('Dataset', () => {
  it('fail: opening stops with the same DataError', async () => {
    await assert.rejects(Dataset.open(folder, { onInvalid: 'fail' }), (err: unknown) => err instanceof DataError && err.message === expectedMessage);
  });

  it('skip: random access by global index over plain and gzipped shards, in the order asked', async () => {
    const { log, out } = captureLog();
    const ds = await Dataset.open(folder, { onInvalid: 'skip', log });
    try {
      assert.equal(ds.size, 10);
      assert.equal(ds.skipped, 1);
      assert.deepEqual(out.map((l) => [l.msg, l.skipped]).filter(([m]) => m === 'skipped invalid records'), [['skipped invalid records', 1]]);
      assert.deepEqual(Array.from({ length: 10 }, (_, i) => ds.id(i)), ['a:1', 'a:2', 'a:3', 'a:4', 'a:5', 'b:1', 'b:2', 'b:4', 'b:6', 'b:7']);
      const got = await ds.get([9, 0, 7, 7, 5]);
      assert.deepEqual(got, [
        { id: 'b:7', record: record(10) },
        { id: 'a:1', record: record(0) },
        { id: 'b:4', record: record(8) },
        { id: 'b:4', record: record(8) },
        { id: 'b:1', record: record(5) },
      ]);
      assert.throws(() => ds.id(10), RangeError);
    } finally {
      await ds.close();
    }
  });

  it('caches the index beside the data and rebuilds it when a file changes', async () => {
    const cache = join(folder, '.instructue-cache');
    const idx = join(cache, 'a.jsonl.idx');
    assert.ok(existsSync(idx) && existsSync(join(cache, 'b.jsonl')) && existsSync(join(cache, 'b.jsonl.gz.idx')));
    const before = statSync(idx).mtimeMs;
    const again = await Dataset.open(folder, { onInvalid: 'skip' });
    await again.close();
    assert.equal(statSync(idx).mtimeMs, before, 'a current index is reused, not rewritten');
    // Append a record to a.jsonl: size and mtime change, so the index is rebuilt.
    writeFileSync(join(folder, 'a.jsonl'), lines(0, 6).join('\n') + '\n');
    utimesSync(join(folder, 'a.jsonl'), new Date(2030, 0, 1), new Date(2030, 0, 1));
    const grown = await Dataset.open(folder, { onInvalid: 'skip' });
    try {
      assert.equal(grown.size, 11);
      assert.deepEqual(await grown.get([5]), [{ id: 'a:6', record: record(5) }]);
    } finally {
      await grown.close();
      writeFileSync(join(folder, 'a.jsonl'), lines(0, 5).join('\n') + '\n');
    }
  });

  it('puts the cache under data.cache_dir when set', async () => {
    const root = join(dir, 'cache-root');
    const ds = await Dataset.open(join(folder, 'a.jsonl'), { onInvalid: 'fail', cacheDir: root });
    await ds.close();
    assert.equal(ds.size, 5);
    assert.ok(existsSync(root));
  });
});
