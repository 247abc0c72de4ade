/**
 * @module transport/memory-key-value
 * In-memory `KeyValueStore` with JetStream KV semantics (bucket-wide revisions, delete markers
 * that keep a revision, compare-and-set). Share one instance between the parties of a test.
 */
import { KeyValueError, validateBucket, validateKey, type KeyValueStore, type KvEntry } from './key-value.js';

interface Slot {
  value: Uint8Array | null; // null = delete marker
  revision: number;
}

export class MemoryKeyValue implements KeyValueStore {
  private readonly slots = new Map<string, Slot>();
  private revision = 0;

  constructor(readonly bucket: string) {
    validateBucket(bucket);
  }

  async get(key: string): Promise<KvEntry | null> {
    validateKey(key);
    const slot = this.slots.get(key);
    return slot?.value ? { value: slot.value.slice(), revision: slot.revision } : null;
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    validateKey(key);
    return this.write(key, value);
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    validateKey(key);
    if (this.slots.get(key)?.value) throw new KeyValueError('EXISTS', `key "${key}" already exists in bucket ${this.bucket}`);
    return this.write(key, value);
  }

  async update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    validateKey(key);
    const latest = this.slots.get(key)?.revision ?? 0;
    if (latest !== expectedRevision) {
      throw new KeyValueError('REVISION_MISMATCH', `key "${key}" in bucket ${this.bucket} is at revision ${latest}, not ${expectedRevision}: re-read it and retry`);
    }
    return this.write(key, value);
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    this.write(key, null); // JetStream writes a delete marker even for a missing key
  }

  async keys(prefix = ''): Promise<string[]> {
    return [...this.slots].filter(([key, slot]) => slot.value && key.startsWith(prefix)).map(([key]) => key).sort();
  }

  private write(key: string, value: Uint8Array | null): number {
    this.revision += 1;
    this.slots.set(key, { value: value ? value.slice() : null, revision: this.revision });
    return this.revision;
  }
}
