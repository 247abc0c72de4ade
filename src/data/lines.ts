/**
 * @module data/lines
 * Streams the lines of a `.jsonl` or `.jsonl.gz` file without holding it whole: fixed-size
 * chunks are split on `\n`, and each line comes with its 1-based number and the byte offset and
 * length in the (decompressed) stream, which is what the random-access index stores. A damaged
 * gzip stream ends the read with a `DataError` naming the file and the last complete line, not
 * zlib's bare `Z_BUF_ERROR`.
 */
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { DataError } from '../errors.js';
import { isGzip } from './files.js';

export interface Line {
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte in the decompressed stream. */
  offset: number;
  /** Line bytes without the `\n` (and without a trailing `\r`). */
  bytes: Buffer;
}

const CHUNK_BYTES = 1 << 20;

export interface ReadLinesOptions {
  /** Fed every (decompressed) byte of the file in order: a content hash at no extra pass. */
  hash?: Hash;
}

/**
 * Yields every line of `file` in order, decompressing `.gz` files on the fly.
 * @throws DataError when a `.gz` file is not gzip, or is corrupt or truncated
 */
export async function* readLines(file: string, opts: ReadLinesOptions = {}): AsyncGenerator<Line> {
  const raw = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  const stream = isGzip(file) ? raw.pipe(createGunzip({ chunkSize: CHUNK_BYTES })) : raw;
  if (stream !== raw) raw.on('error', (err) => stream.destroy(err));
  let carry: Buffer | null = null;
  let carryOffset = 0;
  let offset = 0;
  let line = 0;
  const chunks = withGzipErrors(stream as AsyncIterable<Buffer>, file, () => line);
  for await (const chunk of chunks) {
    opts.hash?.update(chunk);
    let start = 0;
    let data = chunk;
    let base = offset;
    if (carry) {
      data = Buffer.concat([carry, chunk]);
      start = 0;
      base = carryOffset;
      carry = null;
    }
    for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
      yield { line: ++line, offset: base + start, bytes: trimCr(data.subarray(start, nl)) };
      start = nl + 1;
    }
    if (start < data.length) {
      carry = data.subarray(start);
      carryOffset = base + start;
    }
    offset += chunk.length;
  }
  if (carry && carry.length > 0) yield { line: ++line, offset: carryOffset, bytes: trimCr(carry) };
}

/** Re-throws zlib failures of `chunks` as the DataError of `file` (`lastLine()`: complete lines read so far). */
async function* withGzipErrors(chunks: AsyncIterable<Buffer>, file: string, lastLine: () => number): AsyncGenerator<Buffer> {
  try {
    yield* chunks;
  } catch (err) {
    throw isZlibError(err) ? gzipDataError(file, lastLine(), err) : err;
  }
}

/** True for the errors node:zlib raises on bad input (`Z_DATA_ERROR`, `Z_BUF_ERROR`, …). */
export function isZlibError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('Z_');
}

/**
 * The DataError of a `.gz` data file zlib could not read: it names the file, the line where
 * reading broke off (the one after `lastGoodLine`, the last complete line) and what to do.
 */
export function gzipDataError(file: string, lastGoodLine: number, err: Error & { code: string }): DataError {
  const notGzip = err.code === 'Z_DATA_ERROR' && /incorrect header check/.test(err.message);
  const reason = notGzip
    ? `not gzip data (zlib: ${err.message}); the name ends in .gz but the content is not compressed — rename it to .jsonl if it is plain JSONL, or re-create it`
    : `the gzip stream is ${err.code === 'Z_BUF_ERROR' ? 'truncated' : 'corrupt'} (zlib ${err.code}: ${err.message}); ${lastGoodLine > 0 ? `line ${lastGoodLine} is the last complete line` : 'no line could be read'} — re-copy or re-create the file`;
  return new DataError(file, lastGoodLine + 1, '(gzip)', reason);
}

function trimCr(bytes: Buffer): Buffer {
  return bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.subarray(0, bytes.length - 1) : bytes;
}

/** True for lines holding only whitespace (not records; they keep their line number). */
export function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 32 && b !== 9 && b !== 13) return false;
  return true;
}
