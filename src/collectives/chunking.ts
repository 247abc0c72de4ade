/**
 * @module collectives/chunking
 * How a vector is cut for the wire: all-reduce gives rank j the j-th of `worldSize` balanced
 * segments to reduce, and every stream is sent in chunks of at most `elemsPerChunk` elements.
 * Sender and receiver compute the same plan, so a receiver checks every chunk against it.
 */
import { CHUNK_HEADER_BYTES, bytesPerElement } from './chunk-frame.js';
import type { WireDtype } from '../protocol/messages.js';

export interface Range {
  /** First element (absolute position in the vector). */
  offset: number;
  count: number;
}

/** `length` elements in `parts` contiguous segments whose sizes differ by at most one. */
export function partition(length: number, parts: number): Range[] {
  const base = Math.floor(length / parts);
  const extra = length % parts;
  const out: Range[] = [];
  let offset = 0;
  for (let j = 0; j < parts; j++) {
    const count = base + (j < extra ? 1 : 0);
    out.push({ offset, count });
    offset += count;
  }
  return out;
}

/** The chunks of `range`: always at least one (an empty range is one empty chunk, so every stream is announced). */
export function chunkRanges(range: Range, elemsPerChunk: number): Range[] {
  if (range.count === 0) return [{ offset: range.offset, count: 0 }];
  const out: Range[] = [];
  for (let done = 0; done < range.count; done += elemsPerChunk) {
    out.push({ offset: range.offset + done, count: Math.min(elemsPerChunk, range.count - done) });
  }
  return out;
}

/** Elements per chunk so that a frame (header + payload) fits in `maxFrameBytes`. */
export function elementsPerChunk(maxFrameBytes: number, dtype: WireDtype): number {
  const elems = Math.floor((maxFrameBytes - CHUNK_HEADER_BYTES) / bytesPerElement(dtype));
  if (elems < 1) throw new RangeError(`a frame of ${maxFrameBytes} bytes cannot hold one ${dtype} value after the ${CHUNK_HEADER_BYTES}-byte header`);
  return elems;
}
