/**
 * @module data/reader
 * Sequential reading of a data set (a file or a folder of shards) as validated samples, for
 * streaming consumers (embedding export, probes, import checks). Memory stays flat: one chunk of
 * one file at a time. The invalid-record policy is applied here and in the random-access index:
 * `fail` throws the first `DataError`; `skip` counts bad lines and reports them once at the end.
 */
import { DataError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { fileStem, listDataFiles } from './files.js';
import { isBlank, readLines } from './lines.js';
import type { Sample } from './types.js';
import { parseRecordLine } from './validate.js';

export type OnInvalid = 'fail' | 'skip';

export interface ReadOptions {
  onInvalid: OnInvalid;
  /** Receives the end-of-read skip report (default: silent). */
  log?: Logger;
}

/** How many skip reasons are kept for the report. */
export const MAX_SKIP_REASONS = 5;

/** Counts skipped records and keeps the first few reasons. */
export class SkipTally {
  count = 0;
  readonly reasons: string[] = [];

  add(reason: string): void {
    this.addAll(1, [reason]);
  }

  /** Adds `count` skipped records of which `reasons` are the first few. */
  addAll(count: number, reasons: readonly string[]): void {
    this.count += count;
    for (const r of reasons) if (this.reasons.length < MAX_SKIP_REASONS) this.reasons.push(r);
  }

  /** Logs one warning when anything was skipped. */
  report(log: Logger, what: string): void {
    if (this.count > 0) log.warn('skipped invalid records', { data: what, skipped: this.count, first: this.reasons });
  }
}

/** The samples of a data set in file order; `skipped` and `skipReasons` are final once iteration ends. */
export class SampleStream implements AsyncIterable<Sample> {
  private readonly tally = new SkipTally();

  constructor(
    private readonly path: string,
    private readonly opts: ReadOptions,
  ) {}

  /** Records skipped so far (policy `skip`). */
  get skipped(): number {
    return this.tally.count;
  }

  /** The first few skip reasons, as `file:line field: reason`. */
  get skipReasons(): readonly string[] {
    return this.tally.reasons;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Sample> {
    for (const file of listDataFiles(this.path)) {
      const stem = fileStem(file);
      for await (const { line, bytes } of readLines(file)) {
        if (isBlank(bytes)) continue;
        let record;
        try {
          record = parseRecordLine(bytes.toString('utf8'), file, line);
        } catch (err) {
          if (!(err instanceof DataError) || this.opts.onInvalid === 'fail') throw err;
          this.tally.add(err.message);
          continue;
        }
        yield { id: `${stem}:${line}`, record };
      }
    }
    this.tally.report(this.opts.log ?? silentLogger, this.path);
  }
}

/** Streams the validated samples of a file or folder (ids `<file stem>:<line>`). */
export function readSamples(path: string, opts: ReadOptions): SampleStream {
  return new SampleStream(path, opts);
}
