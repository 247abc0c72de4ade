/**
 * @module collectives/chunk-frame
 * The binary frame of a collective data chunk: a 48-byte little-endian header followed by raw
 * float32 or bf16 values. Raw bytes, not msgpack: no per-element work and no hidden copies.
 * NATS hands out payloads at arbitrary byte offsets, so decoding views float32 payloads in place
 * only when they are 4-byte aligned and copies otherwise. (Control messages, msgpack, are
 * `src/protocol/codec.ts`; the header type is `ChunkHeader` in `src/protocol/messages.ts`.)
 *
 * Chunk header (offset: field): 0 magic "IC" · 2 u8 version · 3 u8 phase (1 reduce-scatter,
 * 2 gather, 3 ack) · 4 u8 dtype (0 float32, 1 bf16) · 5–7 reserved · 8 u32 job hash · 12 u32
 * epoch · 16 u32 step · 20 u32 op hash · 24 u32 seq · 28 u32 total chunks · 32 u32 source rank ·
 * 36 u32 element offset · 40 u32 element count · 44 u32 total elements · 48 payload.
 */
import { InstructueError } from '../errors.js';
import { checkVersion } from '../protocol/codec.js';
import { PROTOCOL_VERSION, type ChunkHeader, type ChunkPhase, type WireDtype } from '../protocol/messages.js';
import { bf16BitsOf } from './bf16.js';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // Float32Array views of wire bytes assume a little-endian host (x86-64, arm64 Linux).
  throw new Error('instructue collectives need a little-endian host');
}

export const CHUNK_HEADER_BYTES = 48;
const MAGIC_0 = 0x49; // 'I'
const MAGIC_1 = 0x43; // 'C'
const PHASES: readonly ChunkPhase[] = ['reduce-scatter', 'gather', 'ack'];
const DTYPES: readonly WireDtype[] = ['float32', 'bf16'];

/** Bytes per element on the wire. */
export function bytesPerElement(dtype: WireDtype): number {
  return dtype === 'bf16' ? 2 : 4;
}

/** Size of the frame for `header` (header + payload). */
export function chunkFrameBytes(dtype: WireDtype, elemCount: number): number {
  return CHUNK_HEADER_BYTES + elemCount * bytesPerElement(dtype);
}

/**
 * Encodes a chunk: `header.elemCount` values of `source` starting at `sourceIndex`, converted
 * to `header.dtype`, into `out` (exactly `chunkFrameBytes` long, at a 4-byte aligned offset:
 * pooled frame memory) or a new array.
 */
export function encodeChunk(header: ChunkHeader, source: Float32Array, sourceIndex: number, out?: Uint8Array): Uint8Array {
  const bytes = chunkFrameBytes(header.dtype, header.elemCount);
  if (out && (out.byteLength !== bytes || out.byteOffset % 4 !== 0)) throw new RangeError(`frame buffer of ${out.byteLength} bytes at offset ${out.byteOffset}, need ${bytes} at a 4-byte aligned offset`);
  const frame = out ?? new Uint8Array(bytes);
  const view = new DataView(frame.buffer, frame.byteOffset, CHUNK_HEADER_BYTES);
  frame[0] = MAGIC_0;
  frame[1] = MAGIC_1;
  frame[2] = PROTOCOL_VERSION;
  frame[3] = PHASES.indexOf(header.phase) + 1;
  frame[4] = DTYPES.indexOf(header.dtype);
  frame[5] = frame[6] = frame[7] = 0; // reserved (pooled memory is not zeroed)
  const fields = [header.jobHash, header.epoch, header.step, header.opHash, header.seq, header.totalChunks, header.sourceRank, header.elemOffset, header.elemCount, header.totalElems];
  fields.forEach((value, i) => view.setUint32(8 + 4 * i, value, true));
  const values = source.subarray(sourceIndex, sourceIndex + header.elemCount);
  if (header.dtype === 'float32') {
    frame.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), CHUNK_HEADER_BYTES);
  } else {
    const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
    const halves = new Uint16Array(frame.buffer, frame.byteOffset + CHUNK_HEADER_BYTES, values.length);
    for (let i = 0; i < bits.length; i++) halves[i] = bf16BitsOf(bits[i] as number);
  }
  return frame;
}

/** True if `bytes` starts like a chunk frame (magic bytes). */
export function isChunkFrame(bytes: Uint8Array): boolean {
  return bytes.byteLength >= CHUNK_HEADER_BYTES && bytes[0] === MAGIC_0 && bytes[1] === MAGIC_1;
}

/** Decodes and checks a chunk header; throws `PROTOCOL_MISMATCH` on a bad frame or version. */
export function decodeChunkHeader(frame: Uint8Array): ChunkHeader {
  if (!isChunkFrame(frame)) throw new InstructueError('PROTOCOL_MISMATCH', `not a collective chunk frame (${frame.byteLength} bytes)`);
  checkVersion(frame[2] as number);
  const phase = PHASES[(frame[3] as number) - 1];
  const dtype = DTYPES[frame[4] as number];
  if (!phase || !dtype) throw new InstructueError('PROTOCOL_MISMATCH', `chunk frame with unknown phase ${frame[3]} or dtype ${frame[4]}`);
  const view = new DataView(frame.buffer, frame.byteOffset, CHUNK_HEADER_BYTES);
  const u32 = (i: number) => view.getUint32(8 + 4 * i, true);
  const header: ChunkHeader = {
    phase, dtype, jobHash: u32(0), epoch: u32(1), step: u32(2), opHash: u32(3), seq: u32(4), totalChunks: u32(5),
    sourceRank: u32(6), elemOffset: u32(7), elemCount: u32(8), totalElems: u32(9),
  };
  if (frame.byteLength !== chunkFrameBytes(dtype, header.elemCount)) {
    throw new InstructueError('PROTOCOL_MISMATCH', `chunk frame of ${frame.byteLength} bytes does not match its header (${header.elemCount} ${dtype} values)`);
  }
  return header;
}

/**
 * The chunk's values as float32: a view into `frame` when the payload is float32 and 4-byte
 * aligned (valid while the frame is), else decoded into `scratch` (or a new array) — pass a
 * reused scratch of at least `elemCount` values to avoid an allocation per chunk.
 */
export function chunkValues(frame: Uint8Array, header: ChunkHeader, scratch?: Float32Array): Float32Array {
  const start = frame.byteOffset + CHUNK_HEADER_BYTES;
  if (header.dtype === 'float32' && start % 4 === 0) return new Float32Array(frame.buffer, start, header.elemCount);
  const out = scratch ? scratch.subarray(0, header.elemCount) : new Float32Array(header.elemCount);
  readChunkValues(frame, header, out, 0);
  return out;
}

/** Writes the chunk's values as float32 into `out` at `outIndex` (copies; any alignment). */
export function readChunkValues(frame: Uint8Array, header: ChunkHeader, out: Float32Array, outIndex: number): void {
  const payload = frame.subarray(CHUNK_HEADER_BYTES);
  const target = out.subarray(outIndex, outIndex + header.elemCount);
  if (header.dtype === 'float32') {
    new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(payload);
    return;
  }
  const bits = new Int32Array(target.buffer, target.byteOffset, target.length);
  if (payload.byteOffset % 2 === 0) {
    const halves = new Uint16Array(payload.buffer, payload.byteOffset, target.length);
    for (let i = 0; i < bits.length; i++) bits[i] = (halves[i] as number) << 16;
    return;
  }
  // Odd payload offset: assemble each value byte by byte rather than copying the payload first.
  for (let i = 0; i < bits.length; i++) bits[i] = ((payload[2 * i] as number) | ((payload[2 * i + 1] as number) << 8)) << 16;
}

/** FNV-1a 32-bit hash of a string's UTF-16 code units: job and op ids in chunk headers. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
