/**
 * @module data/line-index
 * The random-access index of one data file: for every valid record its line number, byte offset
 * and byte length in the readable (decompressed) file, plus the invalid lines' count and first
 * few reasons, the sha256 of its bytes (the data fingerprint a checkpoint records), and each
 * record's topic key (src/data/topics.ts: its instruction). Built by one streaming pass that
 * validates every line and hashes as it reads, so neither the invalid-record policy, the
 * fingerprint nor instruction-grouped batching needs another read of the file.
 */
import { createHash } from 'node:crypto';
import { DataError } from '../errors.js';
import { isBlank, readLines } from './lines.js';
import { MAX_SKIP_REASONS } from './reader.js';
import { topicKey } from './topics.js';
import { parseRecordLine } from './validate.js';

export interface InvalidLine {
  line: number;
  field: string;
  reason: string;
}

export interface LineIndex {
  /** 1-based line numbers of the valid records, ascending. */
  lines: Uint32Array;
  /** Byte offsets of those lines in the readable file. */
  offsets: Float64Array;
  /** Byte lengths of those lines (without the newline). */
  lengths: Uint32Array;
  /** Topic key of each record (0 = no instruction; src/data/topics.ts). */
  topics: Uint32Array;
  /** Number of invalid (non-blank) lines. */
  invalidCount: number;
  /** The first few invalid lines, in file order. */
  invalid: InvalidLine[];
  /** sha256 (hex) of the readable file's bytes: of the decompressed content for a `.gz`. */
  sha256: string;
}

/**
 * Scans `readPath` (a plain `.jsonl`, or the decompressed copy of a `.gz`) and indexes it;
 * errors are reported against `file`, the name the user knows.
 */
export async function buildLineIndex(readPath: string, file: string): Promise<LineIndex> {
  const lines = new Grow(Uint32Array);
  const offsets = new Grow(Float64Array);
  const lengths = new Grow(Uint32Array);
  const topics = new Grow(Uint32Array);
  const invalid: InvalidLine[] = [];
  let invalidCount = 0;
  const hash = createHash('sha256');
  for await (const { line, offset, bytes } of readLines(readPath, { hash })) {
    if (isBlank(bytes)) continue;
    let topic: number;
    try {
      topic = topicKey(parseRecordLine(bytes.toString('utf8'), file, line).instruction);
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      invalidCount++;
      if (invalid.length < MAX_SKIP_REASONS) invalid.push({ line, field: err.field, reason: reasonOf(err) });
      continue;
    }
    lines.push(line);
    offsets.push(offset);
    lengths.push(bytes.length);
    topics.push(topic);
  }
  return { lines: lines.done(), offsets: offsets.done(), lengths: lengths.done(), topics: topics.done(), invalidCount, invalid, sha256: hash.digest('hex') };
}

/** The `reason` part of a DataError's `file:line field: reason` message. */
function reasonOf(err: DataError): string {
  return err.message.slice(`${err.file}:${err.line} ${err.field}: `.length);
}

type TypedArray = Uint32Array | Float64Array;

/** An append-only typed array that doubles its capacity (amortised O(1) push, compact result). */
class Grow<T extends TypedArray> {
  private data: T;
  private n = 0;

  constructor(private readonly ctor: new (n: number) => T) {
    this.data = new ctor(1024);
  }

  push(v: number): void {
    if (this.n === this.data.length) {
      const next = new this.ctor(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = v;
  }

  done(): T {
    return this.data.slice(0, this.n) as T;
  }
}
