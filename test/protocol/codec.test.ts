import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InstructueError } from '../../src/errors.js';
import { decodeMessage, encodeMessage } from '../../src/protocol/codec.js';
import { PROTOCOL_VERSION, type RetransmitRequest } from '../../src/protocol/messages.js';

const isProtocolError = (pattern: RegExp) => (err: unknown) => err instanceof InstructueError && err.code === 'PROTOCOL_MISMATCH' && pattern.test(err.message);
const sameBits = (a: Float32Array, b: Float32Array) => assert.deepEqual(new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length));

describe('codec: control messages', () => {
  it('round-trips typed messages, typed arrays included', () => {
    const message: RetransmitRequest = { type: 'collective.retransmit', job: 'j', epoch: 4, step: 9, op: 'grads', requester: 2, phase: 'gather', chunks: [0, 5], receivedBytes: 1 << 20 };
    assert.deepEqual(decodeMessage<RetransmitRequest>(encodeMessage(message)), message);
    const withFloats = { type: 'x', values: Float32Array.of(1.5, -0, Infinity) };
    const back = decodeMessage<typeof withFloats>(encodeMessage(withFloats));
    assert.ok(back.values instanceof Float32Array);
    sameBits(back.values, withFloats.values);
  });

  it('refuses another protocol version and garbage, saying what to do', () => {
    // msgpack [2, nil]: a peer one version ahead.
    const future = Uint8Array.of(0x92, PROTOCOL_VERSION + 1, 0xc0);
    assert.throws(() => decodeMessage(future), isProtocolError(new RegExp(`v${PROTOCOL_VERSION + 1}.*same instructue version`)));
    assert.throws(() => decodeMessage(Uint8Array.of(0x92, 0x01)), isProtocolError(/undecodable/)); // truncated
    assert.throws(() => decodeMessage(Uint8Array.of(0xa1, 0x61)), isProtocolError(/not an instructue message/));
  });
});
