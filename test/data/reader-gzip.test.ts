/**
 * Damaged `.jsonl.gz` training files (B10): truncated, random bytes after a gzip magic, plain
 * text named .gz. Opening the data set (the random-access index), streaming it, and `instructue
 * train` as a real process all stop with the DataError naming the file and the last complete
 * line, never zlib's bare stack. The expected last line comes from zlib itself (a sync-flush
 * decode of the damaged bytes), not from the code under test.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { Dataset } from '../../src/data/dataset.js';
import { readSamples } from '../../src/data/reader.js';
import { DataError } from '../../src/errors.js';
import { record, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('gzip');
after(cleanup);

const text = Array.from({ length: 400 }, (_, i) => JSON.stringify({ ...record(i), answer: `answer ${i} ${'abcdefghij'.slice(i % 10)}` })).join('\n') + '\n';
const gz = gzipSync(text);

/** Complete lines zlib can decode from `bytes` before they break off. */
function completeLines(bytes: Buffer): number {
  const prefix = gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });
  return prefix.toString('utf8').split('\n').length - 1;
}

interface Case {
  name: string;
  bytes: Buffer;
  /** The line the error names (the one after the last complete line). */
  line: number;
  reason: RegExp;
}

const truncated = gz.subarray(0, Math.floor(gz.length / 2));
const truncatedGood = completeLines(truncated);
const garbage = Buffer.concat([gz.subarray(0, 10), Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919 + 13) & 0xff))]);
const cases: Case[] = [
  { name: 'truncated', bytes: truncated, line: truncatedGood + 1, reason: new RegExp(`^the gzip stream is truncated \\(zlib Z_BUF_ERROR: unexpected end of file\\); line ${truncatedGood} is the last complete line — re-copy or re-create the file$`) },
  { name: 'garbage', bytes: garbage, line: 1, reason: /^the gzip stream is corrupt \(zlib Z_DATA_ERROR: [^)]+\); no line could be read — re-copy or re-create the file$/ },
  { name: 'notgz', bytes: Buffer.from(text), line: 1, reason: /^not gzip data \(zlib: incorrect header check\); the name ends in \.gz but the content is not compressed — rename it to \.jsonl if it is plain JSONL, or re-create it$/ },
];

function folderWith(c: Case): { folder: string; file: string } {
  const folder = join(dir, c.name);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, 'part-00000.jsonl.gz');
  writeFileSync(file, c.bytes);
  return { folder, file };
}

function isGzipError(c: Case, file: string) {
  return (err: unknown) => {
    assert.ok(err instanceof DataError, `expected a DataError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.equal(err.line, c.line);
    assert.equal(err.field, '(gzip)');
    assert.match(err.message.slice(`${file}:${c.line} (gzip): `.length), c.reason);
    assert.ok(err.message.startsWith(`${file}:${c.line} (gzip): `), err.message);
    return true;
  };
}

describe('damaged .jsonl.gz training files', () => {
  it('the truncated case really holds complete lines before the break (the fixture is meaningful)', () => {
    assert.ok(truncatedGood > 10 && truncatedGood < 390, `complete lines: ${truncatedGood}`);
  });

  for (const c of cases) {
    it(`${c.name}: Dataset.open gives the DataError naming the file and the last good line, and leaves no temp file`, async () => {
      const { folder, file } = folderWith(c);
      await assert.rejects(Dataset.open(folder, { onInvalid: 'fail' }), isGzipError(c, file));
      const cache = join(folder, '.instructue-cache');
      assert.deepEqual(existsSync(cache) ? readdirSync(cache) : [], []);
    });

    it(`${c.name}: streaming (readSamples) gives the same DataError after yielding the good lines`, async () => {
      const { folder, file } = folderWith(c);
      const seen: string[] = [];
      await assert.rejects(async () => {
        for await (const s of readSamples(folder, { onInvalid: 'fail' })) seen.push(s.id);
      }, isGzipError(c, file));
      assert.deepEqual(seen, Array.from({ length: c.line - 1 }, (_, i) => `part-00000:${i + 1}`));
    });
  }

  it('instructue train on a truncated .jsonl.gz exits 2 with one line naming the file and line, no stack', () => {
    const c = cases[0]!;
    const { folder, file } = folderWith({ ...c, name: 'cli' });
    const out = join(dir, 'cli-run');
    const run = spawnSync(process.execPath, [join(process.cwd(), 'bin', 'instructue.js'), 'train', '--config', 'configs/tiny.json', '--out', out, '--data', folder, '--steps', '1', '--backend', 'cpu'], {
      encoding: 'utf8', env: { ...process.env, INSTRUCTUE_LOG_LEVEL: 'error' }, timeout: 60_000,
    });
    assert.equal(run.status, 2, run.stderr);
    const lines = run.stderr.trim().split('\n').filter((l) => !l.startsWith('{'));
    assert.equal(lines.length, 1, run.stderr);
    assert.ok(lines[0]!.startsWith(`instructue: ${file}:${c.line} (gzip): the gzip stream is truncated`), lines[0]);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});
