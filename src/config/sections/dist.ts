/**
 * @module config/sections/dist
 * Distributed run knobs: NATS connection, collectives, membership and faults.
 */
import type convict from 'convict';
import { oneOf } from '../formats.js';

export interface DistConfig {
  nats_url: string;
  job: string;
  workers: number;
  chunk_bytes: number;
  wire_dtype: 'float32' | 'bf16';
  collective_timeout_ms: number;
  heartbeat_ms: number;
  worker_timeout_ms: number;
  checksum_every: number;
}

export const distSchema: convict.Schema<DistConfig> = {
  nats_url: { doc: 'NATS server URL; empty = the local launcher starts nats-server from PATH on a free port', format: String, default: '', env: 'INSTRUCTUE_NATS_URL', arg: 'nats' },
  job: { doc: 'Job name; prefixes every NATS subject and KV key', format: String, default: 'instructue', env: 'INSTRUCTUE_JOB' },
  workers: { doc: 'Number of worker processes (the local launcher starts this many)', format: 'nat', default: 1, arg: 'workers' },
  chunk_bytes: { doc: 'Largest collective message payload; keep under the server max_payload (1 MiB default)', format: 'nat', default: 512 * 1024 },
  wire_dtype: { doc: 'Gradient dtype on the wire; sums are always float32', format: oneOf(['float32', 'bf16']), default: 'float32' },
  collective_timeout_ms: { doc: 'Deadline of one collective before the step is aborted', format: 'nat', default: 30000 },
  heartbeat_ms: { doc: 'Worker heartbeat period', format: 'nat', default: 1000 },
  worker_timeout_ms: { doc: 'A worker silent this long is dropped from the membership', format: 'nat', default: 10000 },
  checksum_every: { doc: 'Steps between replica checksum comparisons; 0 disables', format: 'nat', default: 10 },
};
