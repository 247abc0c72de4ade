import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InstructueError } from '../../src/errors.js';
import { roundToBf16InPlace } from '../../src/collectives/bf16.js';
import { CHUNK_HEADER_BYTES, chunkValues, decodeChunkHeader, encodeChunk, hash32, isChunkFrame } from '../../src/collectives/chunk-frame.js';
import { PROTOCOL_VERSION, type ChunkHeader } from '../../src/protocol/messages.js';

const header = (over: Partial<ChunkHeader> = {}): ChunkHeader => ({
  phase: 'reduce-scatter', dtype: 'float32', jobHash: 0xdeadbeef, epoch: 0xffffffff, step: 123456, opHash: hash32('grads'),
  seq: 2, totalChunks: 7, sourceRank: 3, elemOffset: 1000, elemCount: 5, totalElems: 4000, ...over,
});
const isProtocolError = (pattern: RegExp) => (err: unknown) => err instanceof InstructueError && err.code === 'PROTOCOL_MISMATCH' && pattern.test(err.message);
const sameBits = (a: Float32Array, b: Float32Array) => assert.deepEqual(new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length));

/** `frame` copied to byte offset `shift` of a larger buffer (as NATS may hand it out). */
function shifted(frame: Uint8Array, shift: number): Uint8Array {
  const out = new Uint8Array(frame.byteLength + shift).subarray(shift);
  out.set(frame);
  return out;
}

describe('chunk frames', () => {
  const values = Float32Array.of(1.25, -0, Number.NaN, Infinity, -3.5e-40);

  it('round-trips a float32 chunk at every byte offset, viewing aligned payloads in place', () => {
    const frame = encodeChunk(header(), Float32Array.of(9, 9, ...values, 9), 2);
    assert.equal(frame.byteLength, CHUNK_HEADER_BYTES + 5 * 4);
    for (const shift of [0, 1, 2, 3]) {
      const received = shifted(frame, shift);
      const h = decodeChunkHeader(received);
      assert.deepEqual(h, header());
      const decoded = chunkValues(received, h);
      sameBits(decoded, values);
      assert.equal(decoded.buffer === received.buffer, shift === 0, `shift ${shift}: view only when aligned`);
    }
  });

  it('bf16 chunks carry 2 bytes per value and decode to the rounded values', () => {
    const wide = Float32Array.of(1 + 2 ** -8, 1 + 3 * 2 ** -8, -2.7182817, 65504.5, 1e-30);
    const frame = encodeChunk(header({ dtype: 'bf16', elemCount: wide.length }), wide, 0);
    assert.equal(frame.byteLength, CHUNK_HEADER_BYTES + wide.length * 2);
    for (const shift of [0, 1]) {
      const received = shifted(frame, shift);
      sameBits(chunkValues(received, decodeChunkHeader(received)), roundToBf16InPlace(wide.slice()));
    }
  });

  it('rejects frames that are not chunks, have another version, or lie about their length', () => {
    const frame = encodeChunk(header(), values, 0);
    assert.equal(isChunkFrame(Uint8Array.of(1, 2, 3)), false);
    const otherVersion = frame.slice();
    otherVersion[2] = PROTOCOL_VERSION + 1;
    assert.throws(() => decodeChunkHeader(otherVersion), isProtocolError(/protocol v/));
    assert.throws(() => decodeChunkHeader(frame.subarray(0, frame.byteLength - 4)), isProtocolError(/does not match its header/));
    const badPhase = frame.slice();
    badPhase[3] = 9;
    assert.throws(() => decodeChunkHeader(badPhase), isProtocolError(/unknown phase/));
  });

  it('hash32 is FNV-1a (published test vectors)', () => {
    assert.equal(hash32(''), 0x811c9dc5);
    assert.equal(hash32('a'), 0xe40c292c);
    assert.equal(hash32('foobar'), 0xbf9cf968);
  });
});
