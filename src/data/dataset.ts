/**
 * @module data/dataset
 * Random access to a data set by global sample index 0..size−1 (what virtual shards hand out).
 * Opening builds or loads one index per file (src/data/index-cache.ts; it also holds each
 * record's topic key for instruction-grouped batching) and applies the invalid-record policy;
 * `get` then reads just the asked lines with positioned reads, so memory holds the index (20
 * bytes per record) and the current batch, never the data. `fingerprint` says what the data was
 * (src/data/fingerprint.ts), from the indexes already loaded.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DataError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { fileStem, listDataFiles } from './files.js';
import { fileFingerprint, fingerprintOf, type DataFingerprint } from './fingerprint.js';
import { loadIndex, type CachedIndex } from './index-cache.js';
import { SkipTally, type OnInvalid } from './reader.js';
import type { Sample } from './types.js';
import { parseRecordLine } from './validate.js';

export interface DatasetOptions {
  onInvalid: OnInvalid;
  log?: Logger;
  /** Root folder for index caches (data.cache_dir); '' = `.instructue-cache/` beside the data. */
  cacheDir?: string;
}

interface FilePart {
  file: string;
  stem: string;
  /** Global index of this file's first valid record. */
  start: number;
  index: CachedIndex;
  /** Opened on first read; a promise so concurrent reads share one handle. */
  handle: Promise<FileHandle> | null;
}

export class Dataset {
  /** Number of valid samples. */
  readonly size: number;
  /** Invalid records skipped (policy `skip`). */
  readonly skipped: number;
  /** Record count and per-file name, size, mtime and content hash (what a checkpoint records). */
  readonly fingerprint: DataFingerprint;

  private constructor(
    private readonly parts: FilePart[],
    skipped: number,
  ) {
    const last = parts[parts.length - 1];
    this.size = last.start + last.index.lines.length;
    this.skipped = skipped;
    this.fingerprint = fingerprintOf(parts.map((p) => fileFingerprint(p.file, p.index)));
  }

  /**
   * Opens a `.jsonl(.gz)` file or a folder of them. With `onInvalid: 'fail'` the first invalid
   * record throws its `DataError`; with `skip` invalid records are counted in `skipped` and
   * reported once (a warning with the first few reasons).
   */
  static async open(path: string, opts: DatasetOptions): Promise<Dataset> {
    const log = opts.log ?? silentLogger;
    const parts: FilePart[] = [];
    const tally = new SkipTally();
    let start = 0;
    for (const file of listDataFiles(path)) {
      const index = await loadIndex(file, opts.cacheDir ?? '', log);
      const first = index.invalid[0];
      if (first && opts.onInvalid === 'fail') throw new DataError(file, first.line, first.field, first.reason);
      tally.addAll(index.invalidCount, index.invalid.map((bad) => `${file}:${bad.line} ${bad.field}: ${bad.reason}`));
      parts.push({ file, stem: fileStem(file), start, index, handle: null });
      start += index.lines.length;
    }
    tally.report(log, path);
    return new Dataset(parts, tally.count);
  }

  /** The stable id of sample `i`: `<file stem>:<line number>`. */
  id(i: number): string {
    const part = this.locate(i);
    return `${part.stem}:${part.index.lines[i - part.start]}`;
  }

  /** Topic key of every sample, by global index (src/data/topics.ts), from the index: no read. */
  topicKeys(): Uint32Array {
    const out = new Uint32Array(this.size);
    for (const part of this.parts) out.set(part.index.topics, part.start);
    return out;
  }

  /** The samples at `indices`, in the order asked (duplicates allowed). */
  async get(indices: number[]): Promise<Sample[]> {
    return Promise.all(
      indices.map(async (i) => {
        const part = this.locate(i);
        const k = i - part.start;
        const length = part.index.lengths[k];
        const line = part.index.lines[k];
        part.handle ??= open(part.index.readPath, 'r');
        const buf = Buffer.allocUnsafe(length);
        const { bytesRead } = await (await part.handle).read(buf, 0, length, part.index.offsets[k]);
        if (bytesRead !== length) throw new DataError(part.file, line, '(line)', 'file changed since it was indexed; reopen the data set');
        return { id: `${part.stem}:${line}`, record: parseRecordLine(buf.toString('utf8'), part.file, line) };
      }),
    );
  }

  /** Closes the open file handles. */
  async close(): Promise<void> {
    await Promise.all(this.parts.map(async (p) => (await p.handle)?.close()));
    for (const p of this.parts) p.handle = null;
  }

  private locate(i: number): FilePart {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RangeError(`sample index ${i} is outside 0..${this.size - 1}`);
    let lo = 0;
    let hi = this.parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.parts[mid].start <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.parts[lo];
  }
}
