/**
 * The data fingerprint (B7): record count plus per-file name, size, mtime and content hash,
 * taken while the index is built and kept in the index cache. Checked against hashes computed
 * here with node:crypto over the files' (decompressed) bytes; a cached open reads only the index.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Dataset } from '../../src/data/dataset.js';
import { dataFingerprint, describeDataChange, type DataFingerprint } from '../../src/data/fingerprint.js';
import { record, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('fingerprint');
after(cleanup);

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => JSON.stringify(record(from + k))).join('\n') + '\n';
/** A whole-second mtime, so a test can put it back exactly. */
const FIXED_TIME = 1_700_000_000;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function makeSet(name: string): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'a.jsonl'), lines(0, 6));
  writeFileSync(join(folder, 'b.jsonl.gz'), gzipSync(lines(6, 10)));
  utimesSync(join(folder, 'a.jsonl'), FIXED_TIME, FIXED_TIME);
  return folder;
}

function expected(folder: string): DataFingerprint {
  const a = join(folder, 'a.jsonl');
  const b = join(folder, 'b.jsonl.gz');
  const sa = statSync(a);
  const sb = statSync(b);
  return {
    count: 10,
    files: [
      { name: 'a.jsonl', bytes: sa.size, mtimeMs: sa.mtimeMs, sha256: sha(readFileSync(a)), records: 6 },
      { name: 'b.jsonl.gz', bytes: sb.size, mtimeMs: sb.mtimeMs, sha256: sha(gunzipSync(readFileSync(b))), records: 4 },
    ],
  };
}

describe('data fingerprint', () => {
  it('Dataset.fingerprint and dataFingerprint agree with hashes of the (decompressed) bytes, built and cached', async () => {
    const folder = makeSet('same');
    const ds = await Dataset.open(folder, { onInvalid: 'fail' });
    await ds.close();
    assert.deepEqual(ds.fingerprint, expected(folder));
    // The second look comes from the cache, which is keyed by size and mtime: swap a.jsonl for
    // other bytes of the same length and restore its mtime, and the cached hash is what comes back.
    const a = join(folder, 'a.jsonl');
    const want = expected(folder);
    const bytes = readFileSync(a);
    writeFileSync(a, Buffer.from(bytes.toString('utf8').replace('user0', 'userX')));
    utimesSync(a, FIXED_TIME, FIXED_TIME);
    assert.deepEqual(await dataFingerprint(folder), want);
  });

  it('describeDataChange: null for the same content (even touched), else files changed/added/removed and the count', async () => {
    const folder = makeSet('change');
    const before = await dataFingerprint(folder);
    // Rewriting the same bytes changes the mtime, not the content: no change.
    writeFileSync(join(folder, 'a.jsonl'), lines(0, 6));
    const touched = await dataFingerprint(folder);
    assert.equal(describeDataChange(before, touched), null);

    appendFileSync(join(folder, 'a.jsonl'), lines(10, 12));
    writeFileSync(join(folder, 'c.jsonl'), lines(12, 13));
    const grown = await dataFingerprint(folder);
    const sizeA = statSync(join(folder, 'a.jsonl')).size;
    assert.equal(describeDataChange(before, grown), `changed: a.jsonl (6 → 8 records, ${before.files[0]!.bytes} → ${sizeA} bytes); added: c.jsonl (1 records); records 10 → 13`);

    const renamed = { ...before, files: before.files.map((f) => (f.name === 'b.jsonl.gz' ? { ...f, name: 'z.jsonl.gz' } : f)) };
    assert.equal(describeDataChange(before, renamed), 'added: z.jsonl.gz (4 records); removed: b.jsonl.gz (4 records); records 10 → 10');
  });
});
