/**
 * @module data/jsonl-writer
 * Writes JSONL shards, plain or gzipped, synchronously and deterministically: lines are buffered
 * into ~1 MiB blocks and each block is written as is, or as one gzip member (a `.jsonl.gz` is a
 * concatenation of members, which gunzip and the reader read as one stream). The same lines
 * always give the same bytes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BLOCK_BYTES = 1 << 20;

export class JsonlWriter {
  /** Lines written so far. */
  lines = 0;
  private readonly fd: number;
  private pending: string[] = [];
  private pendingBytes = 0;

  /** Creates (or truncates) `path`; gzip when it ends in `.gz`. */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  /** Appends one line (without its newline). */
  write(line: string): void {
    this.pending.push(line);
    this.pendingBytes += line.length + 1;
    this.lines++;
    if (this.pendingBytes >= BLOCK_BYTES) this.flush();
  }

  /** Flushes and closes the file. */
  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const block = Buffer.from(this.pending.join('\n') + '\n', 'utf8');
    writeSync(this.fd, this.path.endsWith('.gz') ? gzipSync(block) : block);
    this.pending = [];
    this.pendingBytes = 0;
  }
}
