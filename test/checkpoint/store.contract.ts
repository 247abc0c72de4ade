/**
 * The CheckpointStore contract, run against every implementation (fs and memory).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckpointStore } from '../../src/checkpoint/store.js';

export interface StoreUnderTest {
  store: CheckpointStore;
  /** Flips one byte of `file` in the published checkpoint of `step`. */
  corrupt(step: number, file: string): Promise<void>;
  cleanup(): Promise<void>;
}

const files = (step: number) => new Map([
  ['trainable.safetensors', Uint8Array.from({ length: 64 }, (_, i) => (i * step) & 0xff)],
  ['state.json', new TextEncoder().encode(JSON.stringify({ step }))],
]);

export function runCheckpointStoreContract(name: string, make: (keepLast: number) => Promise<StoreUnderTest>): void {
  describe(`CheckpointStore contract: ${name}`, () => {
    it('saves, lists and loads the newest checkpoint with identical bytes', async () => {
      const t = await make(5);
      try {
        await t.store.save(10, files(10));
        await t.store.save(20, files(20));
        assert.deepEqual(await t.store.steps(), [10, 20]);
        const latest = await t.store.latestValid();
        assert.equal(latest?.step, 20);
        assert.deepEqual(latest?.files, files(20));
        assert.deepEqual((await t.store.load(10)).files, files(10));
      } finally {
        await t.cleanup();
      }
    });

    it('keeps only the last k checkpoints', async () => {
      const t = await make(2);
      try {
        for (const step of [1, 2, 3, 4]) await t.store.save(step, files(step));
        assert.deepEqual(await t.store.steps(), [3, 4]);
      } finally {
        await t.cleanup();
      }
    });

    it('detects a flipped byte and falls back to the previous checkpoint, reporting why', async () => {
      const t = await make(3);
      try {
        await t.store.save(5, files(5));
        await t.store.save(6, files(6));
        await t.corrupt(6, 'trainable.safetensors');
        const reports: string[] = [];
        const latest = await t.store.latestValid((step, reason) => reports.push(`${step}: ${reason}`));
        assert.equal(latest?.step, 5);
        assert.equal(reports.length, 1);
        assert.match(reports[0]!, /^6: .*trainable\.safetensors does not match its sha256/);
        await assert.rejects(t.store.load(6), /sha256/);
      } finally {
        await t.cleanup();
      }
    });

    it('can be limited to checkpoints at or before a step', async () => {
      const t = await make(5);
      try {
        for (const step of [4, 8, 12]) await t.store.save(step, files(step));
        assert.equal((await t.store.latestValid(undefined, 11))?.step, 8);
        assert.equal((await t.store.latestValid(undefined, 8))?.step, 8);
        assert.equal(await t.store.latestValid(undefined, 3), null);
      } finally {
        await t.cleanup();
      }
    });

    it('returns null when there is nothing valid', async () => {
      const t = await make(3);
      try {
        assert.equal(await t.store.latestValid(), null);
      } finally {
        await t.cleanup();
      }
    });
  });
}
