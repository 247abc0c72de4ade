/**
 * @module data/fingerprint
 * What a data set was when a checkpoint was written: its record count and, per file, the name,
 * size, mtime, valid records and a sha256 of the content. A checkpoint's data position (epoch
 * permutations, shard cursors) only means something for the data it was drawn from, so a resume
 * compares the two (`describeDataChange`). The hashes are taken while the random-access index is
 * built and kept in the index cache (src/data/index-cache.ts), so the fingerprint of an indexed
 * data set costs no read; the single process takes it from its open `Dataset`, the coordinator
 * (which has no model and no Dataset) from `dataFingerprint`, and both go through `fileFingerprint`.
 */
import { basename } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { listDataFiles } from './files.js';
import { loadIndex, type CachedIndex } from './index-cache.js';

export interface DataFileFingerprint {
  /** File name inside the data set (a folder's files are named by their base name). */
  name: string;
  bytes: number;
  mtimeMs: number;
  /** sha256 of the content (decompressed, for `.jsonl.gz`). */
  sha256: string;
  /** Valid records of the file. */
  records: number;
}

export interface DataFingerprint {
  /** Valid records of the whole data set (the sample count the data position is built for). */
  count: number;
  files: DataFileFingerprint[];
}

/** The fingerprint entry of one indexed file. */
export function fileFingerprint(file: string, index: CachedIndex): DataFileFingerprint {
  return { name: basename(file), bytes: index.size, mtimeMs: index.mtimeMs, sha256: index.sha256, records: index.lines.length };
}

/** The fingerprint of a data set from its files' entries (in data-set order). */
export function fingerprintOf(files: DataFileFingerprint[]): DataFingerprint {
  return { count: files.reduce((n, f) => n + f.records, 0), files };
}

export interface FingerprintOptions {
  /** data.cache_dir ('' = `.instructue-cache/` beside the data). */
  cacheDir?: string;
  log?: Logger;
}

/**
 * The fingerprint of the data set at `path` (a `.jsonl(.gz)` file or a folder), from its index
 * cache (built if missing, as `Dataset.open` would). Invalid records are not counted, as in a
 * `Dataset`; the invalid-record policy is the trainer's business.
 */
export async function dataFingerprint(path: string, opts: FingerprintOptions = {}): Promise<DataFingerprint> {
  const files: DataFileFingerprint[] = [];
  for (const file of listDataFiles(path)) files.push(fileFingerprint(file, await loadIndex(file, opts.cacheDir ?? '', opts.log ?? silentLogger)));
  return fingerprintOf(files);
}

/**
 * Null when `after` holds the same content as `before`, else what changed: files added, removed
 * and changed (by content hash: a copy or `touch` that keeps the bytes is no change), and the
 * record count before → after.
 */
export function describeDataChange(before: DataFingerprint, after: DataFingerprint): string | null {
  const old = new Map(before.files.map((f) => [f.name, f]));
  const now = new Map(after.files.map((f) => [f.name, f]));
  const added = after.files.filter((f) => !old.has(f.name)).map((f) => `${f.name} (${f.records} records)`);
  const removed = before.files.filter((f) => !now.has(f.name)).map((f) => `${f.name} (${f.records} records)`);
  const changed = after.files.flatMap((f) => {
    const was = old.get(f.name);
    if (!was || was.sha256 === f.sha256) return [];
    return [`${f.name} (${was.records} → ${f.records} records, ${was.bytes} → ${f.bytes} bytes)`];
  });
  if (!added.length && !removed.length && !changed.length && before.count === after.count) return null;
  const parts = [
    changed.length ? `changed: ${changed.join(', ')}` : '',
    added.length ? `added: ${added.join(', ')}` : '',
    removed.length ? `removed: ${removed.join(', ')}` : '',
  ].filter(Boolean);
  return `${parts.length ? `${parts.join('; ')}; ` : ''}records ${before.count} → ${after.count}`;
}
