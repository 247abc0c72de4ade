/**
 * @module checkpoint/fs-store
 * Filesystem checkpoints: `ROOT/step-NNNNNNNN/` holding the files and MANIFEST.json. A save
 * writes into `ROOT/.tmp-…`, fsyncs, renames the folder into place (atomic on one filesystem),
 * then atomically replaces `ROOT/latest` (a one-line pointer) and deletes checkpoints beyond
 * keep-last-k. A crash at any point leaves either the old or the new checkpoint complete.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { assertRequiredFiles, buildManifest, MANIFEST_FILE, stepName, verifyManifest, type CheckpointStore, type LoadedCheckpoint, type Manifest } from './store.js';

const STEP_DIR = /^step-(\d{8})$/;

async function writeDurable(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(path, bytes);
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class FsCheckpointStore implements CheckpointStore {
  /** `required`: file names every checkpoint must hold (a manifest lacking one marks it corrupt). */
  constructor(readonly root: string, readonly keepLast: number, readonly required: readonly string[] = []) {}

  async save(step: number, files: Map<string, Uint8Array>): Promise<string> {
    assertRequiredFiles(step, files, this.required);
    await mkdir(this.root, { recursive: true });
    const final = join(this.root, stepName(step));
    const tmp = join(this.root, `.tmp-${stepName(step)}-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    for (const [name, bytes] of files) await writeDurable(join(tmp, name), bytes);
    await writeDurable(join(tmp, MANIFEST_FILE), JSON.stringify(buildManifest(step, files), null, 2));
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    const pointerTmp = join(this.root, `.latest-${process.pid}`);
    await writeDurable(pointerTmp, `${stepName(step)}\n`);
    await rename(pointerTmp, join(this.root, 'latest'));
    await this.prune();
    return final;
  }

  async steps(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      const m = STEP_DIR.exec(n);
      return m ? [Number(m[1])] : [];
    }).sort((a, b) => a - b);
  }

  async load(step: number): Promise<LoadedCheckpoint> {
    const dir = join(this.root, stepName(step));
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
    } catch (err) {
      throw new CheckpointError('CHECKPOINT_INVALID', `${dir}: unreadable ${MANIFEST_FILE} (${(err as Error).message})`, { cause: err });
    }
    const files = new Map<string, Uint8Array>();
    const listed = manifest && typeof manifest.files === 'object' && manifest.files !== null ? Object.keys(manifest.files) : [];
    for (const name of listed) {
      try {
        files.set(name, new Uint8Array(await readFile(join(dir, name))));
      } catch {
        // reported by verifyManifest as missing
      }
    }
    const problem = verifyManifest(manifest, files, this.required);
    if (problem) throw new CheckpointError('CHECKPOINT_INVALID', `${dir}: ${problem}`);
    if (manifest.step !== step) throw new CheckpointError('CHECKPOINT_INVALID', `${dir}: manifest says step ${manifest.step}`);
    return { step, location: dir, files };
  }

  async latestValid(onCorrupt?: (step: number, reason: string) => void, maxStep = Infinity): Promise<LoadedCheckpoint | null> {
    const steps = await this.steps();
    for (const step of steps.filter((s) => s <= maxStep).reverse()) {
      try {
        return await this.load(step);
      } catch (err) {
        onCorrupt?.(step, (err as Error).message);
      }
    }
    return null;
  }

  /** Deletes all but the newest `keepLast` checkpoints and stale temp folders of this process. */
  private async prune(): Promise<void> {
    const steps = await this.steps();
    const drop = this.keepLast > 0 ? steps.slice(0, Math.max(0, steps.length - this.keepLast)) : [];
    for (const step of drop) await rm(join(this.root, stepName(step)), { recursive: true, force: true });
  }
}
