import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { FsCheckpointStore } from '../../src/checkpoint/fs-store.js';
import { MANIFEST_FILE, stepName, type Manifest } from '../../src/checkpoint/store.js';
import { runCheckpointStoreContract } from './store.contract.js';

runCheckpointStoreContract('filesystem', async ({ keepLast, required }) => {
  const root = await mkdtemp(join(tmpdir(), 'ckpt-'));
  const dir = (step: number) => join(root, 'checkpoints', stepName(step));
  return {
    store: new FsCheckpointStore(join(root, 'checkpoints'), keepLast, required),
    async corrupt(step, file) {
      const path = join(root, 'checkpoints', stepName(step), file);
      const bytes = await readFile(path);
      bytes[3] = bytes[3]! ^ 0x01;
      await writeFile(path, bytes);
    },
    async editManifest(step, edit) {
      const path = join(dir(step), MANIFEST_FILE);
      const manifest = JSON.parse(await readFile(path, 'utf8')) as Manifest;
      edit(manifest);
      await writeFile(path, JSON.stringify(manifest, null, 2));
    },
    remove: (step, file) => rm(join(dir(step), file)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

it('filesystem store publishes a latest pointer, a manifest per checkpoint, and no temp folders', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ckpt-'));
  try {
    const store = new FsCheckpointStore(root, 2);
    await store.save(7, new Map([['a.bin', Uint8Array.of(1, 2, 3)]]));
    assert.equal(await readFile(join(root, 'latest'), 'utf8'), 'step-00000007\n');
    assert.deepEqual((await readdir(root)).sort(), ['latest', 'step-00000007']);
    const manifest = JSON.parse(await readFile(join(root, 'step-00000007', 'MANIFEST.json'), 'utf8'));
    assert.deepEqual(manifest, {
      format: 'instructue-checkpoint/1',
      step: 7,
      files: { 'a.bin': { sha256: '039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81', bytes: 3 } },
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
