/**
 * @module data/lines
 * Streams the lines of a `.jsonl` or `.jsonl.gz` file without holding it whole: fixed-size
 * chunks are split on `\n`, and each line comes with its 1-based number and the byte offset and
 * length in the (decompressed) stream, which is what the random-access index stores.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
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

/** Yields every line of `file` in order, decompressing `.gz` files on the fly. */
export async function* readLines(file: string): AsyncGenerator<Line> {
  const raw = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  const stream = isGzip(file) ? raw.pipe(createGunzip({ chunkSize: CHUNK_BYTES })) : raw;
  if (stream !== raw) raw.on('error', (err) => stream.destroy(err));
  let carry: Buffer | null = null;
  let carryOffset = 0;
  let offset = 0;
  let line = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
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

function trimCr(bytes: Buffer): Buffer {
  return bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.subarray(0, bytes.length - 1) : bytes;
}

/** True for lines holding only whitespace (not records; they keep their line number). */
export function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 32 && b !== 9 && b !== 13) return false;
  return true;
}
