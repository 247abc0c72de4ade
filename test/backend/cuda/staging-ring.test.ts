/**
 * The pinned staging ring (src/backend/cuda/staging-ring.ts) against a simulated stream whose
 * copies complete in order and late: each copy reads its bytes only when it completes, as DMA
 * from pinned memory does. Thousands of uploads of random sizes, wrapping many times: every
 * copy must read exactly the bytes that were staged for it (no region reused while in flight),
 * and the ring must not wait when it does not have to.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StagingRing } from '../../../src/backend/cuda/staging-ring.js';
import { Rng } from '../../../src/util/rng.js';

class SimulatedStream {
  /** Copies queued and not yet done, in order: [event id, address, bytes expected]. */
  readonly queue: Array<{ id: number; address: number; expected: Uint8Array }> = [];
  completed = 0;
  private next = 0;
  constructor(private readonly memory: Uint8Array, private readonly base: number) {}
  enqueue(address: number, expected: Uint8Array): void {
    this.queue.push({ id: this.next, address, expected });
  }
  record(): number {
    return this.next++;
  }
  /** Completes copies up to and including event `id`, checking what each one reads. */
  completeThrough(id: number): void {
    while (this.queue.length > 0 && this.queue[0]!.id <= id) {
      const c = this.queue.shift()!;
      const offset = c.address - this.base;
      assert.deepEqual(this.memory.subarray(offset, offset + c.expected.length), c.expected, `copy ${c.id} read overwritten bytes`);
      this.completed = c.id + 1;
    }
  }
}

describe('pinned staging ring', () => {
  it('never overwrites bytes a pending copy has yet to read', () => {
    const memory = new Uint8Array(4096);
    const base = 0x10000;
    const stream = new SimulatedStream(memory, base);
    const rng = new Rng('staging-ring');
    const ring = new StagingRing<number>(base, memory, {
      record: () => stream.record(),
      wait: (id) => stream.completeThrough(id),
      // The GPU finishes a copy now and then on its own.
      done: (id) => {
        if (rng.int(4) === 0 && stream.queue.length > 0) stream.completeThrough(stream.queue[0]!.id);
        return id < stream.completed;
      },
      release: () => {},
    }, 64);
    let wraps = 0;
    let lastAddress = -1;
    for (let i = 0; i < 5000; i++) {
      const n = 1 + rng.int(rng.int(10) === 0 ? 1500 : 200);
      const src = Uint8Array.from({ length: n }, () => rng.int(256));
      const address = ring.stage(src);
      if (address < lastAddress) wraps++;
      lastAddress = address;
      assert.equal((address - base) % 64, 0, 'aligned');
      assert.ok(address - base + n <= memory.length, 'inside the ring');
      stream.enqueue(address, src);
      ring.queued();
    }
    stream.completeThrough(Infinity);
    assert.ok(wraps > 100, `wrapped ${wraps} times`);
    assert.ok(ring.waits > 0 && ring.waits < 5000, `waited ${ring.waits} times`);
  });

  it('does not wait while the ring has room, and refuses what cannot fit', () => {
    const memory = new Uint8Array(1024);
    let waits = 0;
    const ring = new StagingRing<number>(0, memory, { record: () => 0, wait: () => waits++, done: () => false, release: () => {} }, 16);
    for (let i = 0; i < 8; i++) {
      ring.stage(new Uint8Array(100));
      ring.queued();
    }
    assert.equal(waits, 0, '8 × 112 bytes fit in 1024 without reuse');
    assert.equal(ring.inFlight, 8);
    ring.stage(new Uint8Array(200));
    ring.queued();
    assert.equal(waits, 1, 'the wrap waits once, for the newest copy it overlaps');
    assert.equal(ring.inFlight, 7, 'and drops the two older copies it covered');
    assert.throws(() => ring.stage(new Uint8Array(2048)), /staging 2048 bytes in a ring of 1024/);
  });
});
