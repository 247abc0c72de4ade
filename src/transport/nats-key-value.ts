/**
 * @module transport/nats-key-value
 * `KeyValueStore` on a JetStream KV bucket (the server must run with JetStream: `-js`, or
 * `startNatsServer({ jetstream: true })`). Compare-and-set maps to JetStream's expected last
 * subject sequence; its "wrong last sequence" answer (API error 10071) becomes `EXISTS` or
 * `REVISION_MISMATCH`.
 *
 * On a cluster the bucket is replicated (`replicas`, RAFT): it survives the loss of a minority
 * of servers. Reads then go to the stream leader (no direct gets), because a direct get may be
 * answered by a follower that has not applied the latest write yet. And compare-and-set names
 * the stream's last sequence too: nats-server before 2.9.21 (Debian ships 2.9.10) does not
 * serialize concurrent per-key expectations on a replicated stream, so two racers with the same
 * revision could both win (nats-server#4320, and our contract test on a cluster); the
 * stream-wide expectation is serialized, and a write that failed only because *other* keys moved
 * is tried again.
 */
import type { JetStreamClient, JetStreamManager, KV, NatsConnection } from 'nats';
import { KeyValueError, validateBucket, validateKey, type KeyValueStore, type KvEntry } from './key-value.js';
import { NatsTransport } from './nats-transport.js';

const WRONG_LAST_SEQUENCE = 10071;

export interface NatsKeyValueOptions {
  /** Revisions kept per key (JetStream default 1; max 64). */
  history?: number;
  /** Copies of the bucket on different servers (1 on a single server; 3 on a cluster of ≥ 3). An existing bucket with fewer is raised to this. */
  replicas?: number;
}

/** Compare-and-set attempts while only other keys of the bucket move. */
const CAS_ATTEMPTS = 50;

export class NatsKeyValue implements KeyValueStore {
  private constructor(
    private readonly kv: KV,
    readonly bucket: string,
    /** Set on a replicated bucket: the stream-wide guard of compare-and-set. */
    private readonly guard?: { js: JetStreamClient; jsm: JetStreamManager },
  ) {}

  /** Opens (creating if needed) the bucket `bucket`. */
  static async open(source: NatsTransport | NatsConnection, bucket: string, options: NatsKeyValueOptions = {}): Promise<NatsKeyValue> {
    validateBucket(bucket);
    const nc = source instanceof NatsTransport ? source.connection : source;
    const replicas = options.replicas ?? 1;
    try {
      const kv = await nc.jetstream().views.kv(bucket, { history: options.history ?? 1, replicas, ...(replicas > 1 ? { allow_direct: false } : {}) });
      if (replicas <= 1) return new NatsKeyValue(kv, bucket);
      // A bucket made earlier (say, by a single server) keeps its replica count unless raised.
      const jsm = await nc.jetstreamManager();
      const info = await jsm.streams.info(`KV_${bucket}`);
      if ((info.config.num_replicas ?? 1) < replicas) await jsm.streams.update(info.config.name, { ...info.config, num_replicas: replicas });
      return new NatsKeyValue(kv, bucket, { js: nc.jetstream(), jsm });
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
      if (!this.guard) return await this.kv.create(key, value);
      try {
        return await this.compareAndSet(key, value, 0);
      } catch (err) {
        // A deleted key leaves a marker: creating it again means replacing exactly that marker.
        const last = await this.kv.get(key);
        if (!isWrongLastSequence(err) || !last || last.operation === 'PUT') throw err;
        return await this.compareAndSet(key, value, last.revision);
      }
    } catch (err) {
      if (isWrongLastSequence(err)) throw new KeyValueError('EXISTS', `key "${key}" already exists in bucket ${this.bucket}`, { cause: err });
      throw err;
    }
  }

  async update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    validateKey(key);
    try {
      // previousSeq (not kv.update) so that 0 means "must not exist", as in MemoryKeyValue.
      return await this.compareAndSet(key, value, expectedRevision);
    } catch (err) {
      if (isWrongLastSequence(err)) {
        throw new KeyValueError('REVISION_MISMATCH', `key "${key}" in bucket ${this.bucket} is not at revision ${expectedRevision}: re-read it and retry`, { cause: err });
      }
      throw err;
    }
  }

  /** Writes `value` if the key's last revision (delete markers included; 0 = never written) is `expected`. */
  private async compareAndSet(key: string, value: Uint8Array, expected: number): Promise<number> {
    if (!this.guard) return this.kv.put(key, value, { previousSeq: expected });
    const { js, jsm } = this.guard;
    for (let attempt = 1; ; attempt++) {
      const { state } = await jsm.streams.info(`KV_${this.bucket}`);
      try {
        // (An empty stream has no last sequence to name; its first write cannot race another key's.)
        const ack = await js.publish(`$KV.${this.bucket}.${key}`, value, { expect: { lastSubjectSequence: expected, ...(state.last_seq > 0 ? { lastSequence: state.last_seq } : {}) } });
        return ack.seq;
      } catch (err) {
        if (!isWrongLastSequence(err) || attempt >= CAS_ATTEMPTS) throw err;
        const current = await this.kv.get(key);
        if ((current?.revision ?? 0) !== expected) throw err; // the key itself moved: a real mismatch
      }
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
