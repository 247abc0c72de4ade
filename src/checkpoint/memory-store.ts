/**
 * @module checkpoint/memory-store
 * In-memory checkpoints (same contract as the filesystem store): for tests and for a
 * coordinator's replicated last-commit snapshot. Files are copied on save and load.
 */
import { CheckpointError } from '../errors.js';
import { assertRequiredFiles, buildManifest, stepName, verifyManifest, type CheckpointStore, type LoadedCheckpoint, type Manifest } from './store.js';

export class MemoryCheckpointStore implements CheckpointStore {
  private readonly saved = new Map<number, { manifest: Manifest; files: Map<string, Uint8Array> }>();

  /** `required`: file names every checkpoint must hold (a manifest lacking one marks it corrupt). */
  constructor(readonly keepLast: number, readonly required: readonly string[] = []) {}

  async save(step: number, files: Map<string, Uint8Array>): Promise<string> {
    assertRequiredFiles(step, files, this.required);
    const copy = new Map([...files].map(([k, v]) => [k, v.slice()]));
    this.saved.set(step, { manifest: buildManifest(step, copy), files: copy });
    const steps = await this.steps();
    if (this.keepLast > 0) for (const s of steps.slice(0, Math.max(0, steps.length - this.keepLast))) this.saved.delete(s);
    return `memory:${stepName(step)}`;
  }

  async steps(): Promise<number[]> {
    return [...this.saved.keys()].sort((a, b) => a - b);
  }

  async load(step: number): Promise<LoadedCheckpoint> {
    const entry = this.saved.get(step);
    if (!entry) throw new CheckpointError('CHECKPOINT_INVALID', `memory:${stepName(step)}: no such checkpoint`);
    const problem = verifyManifest(entry.manifest, entry.files, this.required);
    if (problem) throw new CheckpointError('CHECKPOINT_INVALID', `memory:${stepName(step)}: ${problem}`);
    return { step, location: `memory:${stepName(step)}`, files: new Map([...entry.files].map(([k, v]) => [k, v.slice()])) };
  }

  async latestValid(onCorrupt?: (step: number, reason: string) => void, maxStep = Infinity): Promise<LoadedCheckpoint | null> {
    for (const step of (await this.steps()).filter((s) => s <= maxStep).reverse()) {
      try {
        return await this.load(step);
      } catch (err) {
        onCorrupt?.(step, (err as Error).message);
      }
    }
    return null;
  }

  /** Test hook: rewrites the stored manifest of `step` (simulates a damaged MANIFEST.json). */
  editManifest(step: number, edit: (manifest: Manifest) => void): void {
    const entry = this.saved.get(step);
    if (!entry) throw new Error(`no checkpoint at step ${step}`);
    edit(entry.manifest);
  }

  /** Test hook: deletes one stored file of `step`. */
  remove(step: number, file: string): void {
    this.saved.get(step)?.files.delete(file);
  }

  /** Test hook: flips one byte of a stored file (simulates corruption). */
  corrupt(step: number, file: string, index = 0): void {
    const bytes = this.saved.get(step)?.files.get(file);
    if (!bytes) throw new Error(`no file ${file} at step ${step}`);
    bytes[index] = bytes[index]! ^ 0xff;
  }
}
