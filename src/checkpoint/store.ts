/**
 * @module checkpoint/store
 * The checkpoint storage seam. A checkpoint is a set of named files published atomically under
 * a step number, with a manifest of sha256 digests; `latestValid` returns the newest checkpoint
 * whose files match their manifest, skipping (with a warning) any that do not. A store is given
 * the names every checkpoint must hold (`required`, decided by its user: src/train/checkpoint.ts
 * for training checkpoints); a manifest is a plain file that can be damaged like any other, so
 * one that does not list them all marks its checkpoint corrupt rather than passing for complete.
 */
import { createHash } from 'node:crypto';

/** One published checkpoint's files, verified against its manifest. */
export interface LoadedCheckpoint {
  step: number;
  /** Where it lives (a folder for the filesystem store). */
  location: string;
  files: Map<string, Uint8Array>;
}

export interface CheckpointStore {
  /** File names every checkpoint of this store must hold (checked on save and on load). */
  readonly required: readonly string[];
  /** Writes `files` for `step`, publishes them atomically, then keeps only the last `keepLast`. Returns the location. */
  save(step: number, files: Map<string, Uint8Array>): Promise<string>;
  /** Published steps, ascending. */
  steps(): Promise<number[]>;
  /**
   * The newest checkpoint that verifies (at or before `maxStep` when given), or null; corrupt
   * ones are reported through `onCorrupt` and skipped.
   */
  latestValid(onCorrupt?: (step: number, reason: string) => void, maxStep?: number): Promise<LoadedCheckpoint | null>;
  /** A specific step, verified (throws CheckpointError when corrupt or absent). */
  load(step: number): Promise<LoadedCheckpoint>;
}

export const MANIFEST_FILE = 'MANIFEST.json';

export interface Manifest {
  format: 'instructue-checkpoint/1';
  step: number;
  files: Record<string, { sha256: string; bytes: number }>;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function buildManifest(step: number, files: Map<string, Uint8Array>): Manifest {
  const entries: Manifest['files'] = {};
  for (const name of [...files.keys()].sort()) {
    const bytes = files.get(name)!;
    entries[name] = { sha256: sha256(bytes), bytes: bytes.byteLength };
  }
  return { format: 'instructue-checkpoint/1', step, files: entries };
}

/** Null when `files` match `manifest` and the manifest lists every `required` file, else the reason. */
export function verifyManifest(manifest: Manifest, files: Map<string, Uint8Array>, required: readonly string[] = []): string | null {
  if (manifest === null || typeof manifest !== 'object') return 'the manifest is not a JSON object';
  if (manifest.format !== 'instructue-checkpoint/1') return `unknown manifest format ${JSON.stringify(manifest.format)}`;
  if (manifest.files === null || typeof manifest.files !== 'object' || Array.isArray(manifest.files)) return 'the manifest has no "files" table';
  const unlisted = required.filter((name) => !Object.hasOwn(manifest.files, name));
  if (unlisted.length > 0) return `the manifest does not list ${unlisted.join(', ')} (a checkpoint needs ${required.join(', ')})`;
  for (const [name, entry] of Object.entries(manifest.files)) {
    const bytes = files.get(name);
    if (!bytes) return `file ${name} is missing`;
    if (bytes.byteLength !== entry.bytes) return `file ${name} has ${bytes.byteLength} bytes, the manifest says ${entry.bytes}`;
    if (sha256(bytes) !== entry.sha256) return `file ${name} does not match its sha256 in the manifest`;
  }
  return null;
}

/**
 * Our own invariant before a save: the caller hands every required file.
 * @throws Error naming the missing files (a bug in the caller, not a user problem)
 */
export function assertRequiredFiles(step: number, files: Map<string, Uint8Array>, required: readonly string[]): void {
  const missing = required.filter((name) => !files.has(name));
  if (missing.length > 0) throw new Error(`checkpoint of step ${step} lacks required file ${missing.join(', ')}; nothing was saved`);
}

/** `step-00000042` */
export function stepName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}
