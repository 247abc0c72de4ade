/**
 * The CheckpointStore contract, run against every implementation (fs and memory).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckpointStore, Manifest } from '../../src/checkpoint/store.js';

export interface StoreUnderTest {
  store: CheckpointStore;
  /** Flips one byte of `file` in the published checkpoint of `step`. */
  corrupt(step: number, file: string): Promise<void>;
  /** Rewrites the manifest of the published checkpoint of `step` (a damaged MANIFEST.json). */
  editManifest(step: number, edit: (manifest: Manifest) => void): Promise<void>;
  /** Deletes `file` of the published checkpoint of `step`. */
  remove(step: number, file: string): Promise<void>;
  cleanup(): Promise<void>;
}

/** What a store under test is built with. */
export interface StoreParams {
  keepLast: number;
  /** Files every checkpoint must hold (the store's `required`). */
  required?: readonly string[];
}

/** The files a checkpoint of this contract must hold. */
const REQUIRED = ['state.json', 'trainable.safetensors'];

const files = (step: number) => new Map([
  ['trainable.safetensors', Uint8Array.from({ length: 64 }, (_, i) => (i * step) & 0xff)],
  ['state.json', new TextEncoder().encode(JSON.stringify({ step }))],
]);

export function runCheckpointStoreContract(name: string, make: (params: StoreParams) => Promise<StoreUnderTest>): void {
  describe(`CheckpointStore contract: ${name}`, () => {
    it('saves, lists and loads the newest checkpoint with identical bytes', async () => {
      const t = await make({ keepLast: 5 });
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
      const t = await make({ keepLast: 2 });
      try {
        for (const step of [1, 2, 3, 4]) await t.store.save(step, files(step));
        assert.deepEqual(await t.store.steps(), [3, 4]);
      } finally {
        await t.cleanup();
      }
    });

    it('detects a flipped byte and falls back to the previous checkpoint, reporting why', async () => {
      const t = await make({ keepLast: 3 });
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
      const t = await make({ keepLast: 5 });
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
      const t = await make({ keepLast: 3 });
      try {
        assert.equal(await t.store.latestValid(), null);
      } finally {
        await t.cleanup();
      }
    });
    it('a manifest that leaves out a required file marks the checkpoint corrupt, and the previous one is used', async () => {
      const t = await make({ keepLast: 5, required: REQUIRED });
      try {
        for (const step of [4, 8, 12]) await t.store.save(step, files(step));
        // step 12: the manifest lists nothing (`"files": {}`); step 8: state.json and its entry are gone.
        await t.editManifest(12, (m) => {
          m.files = {};
        });
        await t.editManifest(8, (m) => {
          delete m.files['state.json'];
        });
        await t.remove(8, 'state.json');
        const reports: string[] = [];
        const latest = await t.store.latestValid((step, reason) => reports.push(`${step}: ${reason}`));
        assert.equal(latest?.step, 4);
        assert.deepEqual(latest?.files, files(4));
        assert.equal(reports.length, 2);
        assert.match(reports[0]!, /^12: .*the manifest does not list state\.json, trainable\.safetensors/);
        assert.match(reports[1]!, /^8: .*the manifest does not list state\.json/);
        await assert.rejects(t.store.load(12), /does not list state\.json, trainable\.safetensors/);
      } finally {
        await t.cleanup();
      }
    });

    it('a required file missing from the files given to save is refused before anything is published', async () => {
      const t = await make({ keepLast: 5, required: REQUIRED });
      try {
        await assert.rejects(t.store.save(3, new Map([['state.json', Uint8Array.of(1)]])), /step 3 .*lacks required file trainable\.safetensors/);
        assert.deepEqual(await t.store.steps(), []);
      } finally {
        await t.cleanup();
      }
    });

    it('a manifest whose files entry is not an object is corrupt, not a crash', async () => {
      const t = await make({ keepLast: 5, required: REQUIRED });
      try {
        await t.store.save(1, files(1));
        await t.store.save(2, files(2));
        await t.editManifest(2, (m) => {
          (m as unknown as { files: unknown }).files = null;
        });
        const reports: string[] = [];
        assert.equal((await t.store.latestValid((step, reason) => reports.push(`${step}: ${reason}`)))?.step, 1);
        assert.equal(reports.length, 1);
        assert.match(reports[0]!, /^2: .*manifest has no "files" table/);
      } finally {
        await t.cleanup();
      }
    });
  });
}
