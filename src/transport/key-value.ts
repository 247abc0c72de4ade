/**
 * @module transport/key-value
 * The `KeyValueStore` role: small durable records with compare-and-set, where the coordinator
 * keeps membership epochs, job state and the checkpoint pointer. Implementations:
 * `NatsKeyValue` (JetStream KV, survives coordinator restarts) and `MemoryKeyValue` (tests),
 * both held to `test/transport/key-value.contract.ts`. Revisions are bucket-wide and strictly
 * increasing, as in JetStream (a revision is the stream sequence).
 */

export interface KvEntry {
  value: Uint8Array;
  revision: number;
}

export interface KeyValueStore {
  readonly bucket: string;
  /** The live value of `key`, or null if it was never written or is deleted. */
  get(key: string): Promise<KvEntry | null>;
  /** Writes unconditionally; resolves with the new revision. */
  put(key: string, value: Uint8Array): Promise<number>;
  /** Writes only if `key` has no live value; else rejects `KeyValueError('EXISTS')`. */
  create(key: string, value: Uint8Array): Promise<number>;
  /**
   * Compare-and-set: writes only if the key's latest revision is `expectedRevision`; else rejects
   * `KeyValueError('REVISION_MISMATCH')` (someone else wrote first: re-read and decide again).
   */
  update(key: string, value: Uint8Array, expectedRevision: number): Promise<number>;
  /** Deletes `key` (a later `create` succeeds again); deleting a missing key leaves it missing. */
  delete(key: string): Promise<void>;
  /** Live keys starting with `prefix` (all when omitted), sorted. */
  keys(prefix?: string): Promise<string[]>;
}

import { KeyValueError } from '../errors.js';

export { KeyValueError, type KeyValueErrorCode } from '../errors.js';

const KEY = /^[-/_=.a-zA-Z0-9]+$/;

/** JetStream's key rules, applied by both implementations: `[-/_=.a-zA-Z0-9]+`, no leading/trailing dot. */
export function validateKey(key: string): void {
  if (!KEY.test(key) || key.startsWith('.') || key.endsWith('.')) {
    throw new KeyValueError('INVALID_KEY', `invalid key "${key}": use letters, digits and - / _ = . (not first or last)`);
  }
}

/** Bucket names: letters, digits, `-` and `_`. */
export function validateBucket(bucket: string): void {
  if (!/^[a-zA-Z0-9_-]+$/.test(bucket)) {
    throw new KeyValueError('INVALID_KEY', `invalid bucket name "${bucket}": use letters, digits, - and _`);
  }
}
