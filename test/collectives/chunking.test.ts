import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkRanges, elementsPerChunk, partition } from '../../src/collectives/chunking.js';
import { FlowWindow } from '../../src/collectives/flow-control.js';
import { FAN_OUT, Outbox, streamName } from '../../src/collectives/outbox.js';

describe('chunking', () => {
  it('partitions into balanced contiguous segments, empty ones included', () => {
    assert.deepEqual(partition(10, 3), [{ offset: 0, count: 4 }, { offset: 4, count: 3 }, { offset: 7, count: 3 }]);
    assert.deepEqual(partition(2, 4).map((s) => s.count), [1, 1, 0, 0]);
    assert.deepEqual(partition(0, 2), [{ offset: 0, count: 0 }, { offset: 0, count: 0 }]);
  });

  it('cuts ranges into chunks, an empty range into one empty chunk', () => {
    assert.deepEqual(chunkRanges({ offset: 5, count: 7 }, 3), [{ offset: 5, count: 3 }, { offset: 8, count: 3 }, { offset: 11, count: 1 }]);
    assert.deepEqual(chunkRanges({ offset: 5, count: 0 }, 3), [{ offset: 5, count: 0 }]);
  });

  it('fits header and payload into the frame size', () => {
    assert.equal(elementsPerChunk(4096, 'float32'), 1012);
    assert.equal(elementsPerChunk(4096, 'bf16'), 2024);
    assert.equal(elementsPerChunk(1024 * 1024, 'float32'), 262_132);
    assert.throws(() => elementsPerChunk(48, 'float32'), /cannot hold one float32 value/);
  });
});

describe('flow window', () => {
  it('holds a sender at the window until credit arrives, per peer and for fan-out', async () => {
    const flow = new FlowWindow(100);
    assert.ok(flow.canSend([1], 1000), 'a lone frame may exceed the window');
    flow.recordSent([1, 2], 60);
    assert.equal(flow.canSend([1], 60), false);
    assert.ok(flow.canSend([3], 60));
    let released = false;
    const waiting = flow.wait([1, 2], 60).then(() => (released = true));
    flow.credit(1, 30);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(released, false, 'peer 2 has not credited yet');
    flow.credit(2, 50);
    flow.credit(2, 10); // stale credit is ignored
    await waiting;
    assert.ok(flow.canSend([1, 2], 60));
  });

  it('cancel rejects a waiting sender', async () => {
    const flow = new FlowWindow(10);
    flow.recordSent([1], 10);
    const waiting = flow.wait([1], 5);
    flow.cancel(new Error('aborted'));
    await assert.rejects(waiting, /aborted/);
  });
});

describe('outbox', () => {
  it('keeps the frames of the current and the previous call only', () => {
    const outbox = new Outbox();
    const frame = (n: number) => Uint8Array.of(n);
    outbox.begin('1/a');
    outbox.record('1/a', streamName('gather', FAN_OUT), 0, frame(1));
    outbox.record('1/a', streamName('gather', FAN_OUT), 2, frame(3));
    outbox.begin('1/b');
    outbox.record('1/b', streamName('reduce-scatter', 2), 0, frame(7));
    assert.deepEqual(outbox.lookup('1/a', 'gather:-1', null), [frame(1), frame(3)]);
    assert.deepEqual(outbox.lookup('1/a', 'gather:-1', [2, 1]), [frame(3)]);
    assert.deepEqual(outbox.lookup('1/b', 'reduce-scatter:2', [0]), [frame(7)]);
    outbox.begin('2/a');
    assert.deepEqual(outbox.lookup('1/a', 'gather:-1', null), []);
    assert.deepEqual(outbox.lookup('1/b', 'reduce-scatter:2', [0]), [frame(7)]);
  });
});
