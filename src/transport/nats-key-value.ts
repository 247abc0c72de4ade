/**
 * @module transport/nats-key-value
 * `KeyValueStore` on a JetStream KV bucket (the server must run with JetStream: `-js`, or
 * `startNatsServer({ jetstream: true })`). Compare-and-set maps to JetStream's expected last
 * subject sequence; its "wrong last sequence" answer (API error 10071) becomes `EXISTS` or
 * `REVISION_MISMATCH`.
 */
import type { KV, NatsConnection } from 'nats';
import { KeyValueError, validateBucket, validateKey, type KeyValueStore, type KvEntry } from './key-value.js';
import { NatsTransport } from './nats-transport.js';

const WRONG_LAST_SEQUENCE = 10071;

export interface NatsKeyValueOptions {
  /** Revisions kept per key (JetStream default 1; max 64). */
  history?: number;
}

export class NatsKeyValue implements KeyValueStore {
  private constructor(
    private readonly kv: KV,
    readonly bucket: string,
  ) {}

  /** Opens (creating if needed) the bucket `bucket`. */
  static async open(source: NatsTransport | NatsConnection, bucket: string, options: NatsKeyValueOptions = {}): Promise<NatsKeyValue> {
    validateBucket(bucket);
    const nc = source instanceof NatsTransport ? source.connection : source;
    try {
      const kv = await nc.jetstream().views.kv(bucket, { history: options.history ?? 1 });
      return new NatsKeyValue(kv, bucket);
    } catch (err) {
      throw new KeyValueError(
        'UNAVAILABLE',
        `cannot open JetStream KV bucket "${bucket}" (${(err as Error).message}): the nats-server must run with JetStream enabled (-js)`,
        { cause: err },
      );
    }
  }

  async get(key: string): Promise<KvEntry | null> {
    validateKey(key);
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return null;
    return { value: entry.value, revision: entry.revision };
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    validateKey(key);
    return this.kv.put(key, value);
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    validateKey(key);
    try {
      return await this.kv.create(key, value);
    } catch (err) {
      if (isWrongLastSequence(err)) throw new KeyValueError('EXISTS', `key "${key}" already exists in bucket ${this.bucket}`, { cause: err });
      throw err;
    }
  }

  async update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    validateKey(key);
    try {
      // put with previousSeq (not kv.update) so that 0 means "must not exist", as in MemoryKeyValue.
      return await this.kv.put(key, value, { previousSeq: expectedRevision });
    } catch (err) {
      if (isWrongLastSequence(err)) {
        throw new KeyValueError('REVISION_MISMATCH', `key "${key}" in bucket ${this.bucket} is not at revision ${expectedRevision}: re-read it and retry`, { cause: err });
      }
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.kv.delete(key);
  }

  async keys(prefix = ''): Promise<string[]> {
    const out: string[] = [];
    for await (const key of await this.kv.keys()) if (key.startsWith(prefix)) out.push(key);
    return out.sort();
  }
}

function isWrongLastSequence(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } }).api_error?.err_code === WRONG_LAST_SEQUENCE;
}
