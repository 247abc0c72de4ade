/**
 * @module config/sections/distributed
 * Distributed run knobs: NATS connection, collectives, membership and faults.
 */
import type convict from 'convict';
import { oneOf } from '../formats.js';

export interface DistConfig {
  nats_url: string;
  nats_user: string;
  nats_pass: string;
  nats_token: string;
  nats_max_payload: number;
  nats_cluster_size: number;
  job: string;
  workers: number;
  max_local_workers: number;
  chunk_bytes: number;
  wire_dtype: 'float32' | 'bf16';
  collective_timeout_ms: number;
  retransmit_ms: number;
  flow_window_bytes: number;
  collective_connections: number;
  heartbeat_ms: number;
  worker_timeout_ms: number;
  no_workers_timeout_ms: number;
  max_restarts: number;
  checksum_every: number;
}

/** An integer in [min, max]. */
function integerIn(min: number, max: number): (val: unknown) => void {
  return (val: unknown) => {
    if (typeof val !== 'number' || !Number.isInteger(val) || val < min || val > max) throw new Error(`must be an integer in [${min}, ${max}]; got ${JSON.stringify(val)}`);
  };
}

export const distSchema: convict.Schema<DistConfig> = {
  nats_url: { doc: 'NATS server URL; empty = the local launcher starts nats-server from PATH on a free port', format: String, default: '', env: 'INSTRUCTUE_NATS_URL', arg: 'nats' },
  nats_user: { doc: 'NATS user name (with nats_pass) when the server requires authorization; empty = none', format: String, default: '', env: 'INSTRUCTUE_NATS_USER' },
  nats_pass: { doc: 'NATS password for nats_user', format: String, default: '', env: 'INSTRUCTUE_NATS_PASS', sensitive: true },
  nats_token: { doc: 'NATS authorization token (instead of user/password); empty = none', format: String, default: '', env: 'INSTRUCTUE_NATS_TOKEN', sensitive: true },
  nats_max_payload: { doc: 'max_payload (bytes) of the nats-server the local launcher starts; NATS advises at most 8 MiB', format: 'nat', default: 1024 * 1024 },
  nats_cluster_size: {
    doc: 'Servers the local launcher starts when nats_url is empty: 1 = one nats-server; 3 = a cluster (routes, JetStream with the job bucket replicated 3 times) that survives the loss of a server, every process given all URLs (odd sizes keep a JetStream quorum)',
    format: integerIn(1, 9), default: 1, env: 'INSTRUCTUE_NATS_CLUSTER_SIZE',
  },
  job: { doc: 'Job name; prefixes every NATS subject and KV key (letters, digits, - and _)', format: String, default: 'instructue', env: 'INSTRUCTUE_JOB' },
  workers: { doc: 'Number of worker processes (the local launcher starts this many)', format: 'nat', default: 1, arg: 'workers' },
  max_local_workers: { doc: 'Most worker processes the local launcher (train --workers N, and scale requests) starts on one machine; 0 = 4 × its CPUs, at least 8', format: 'nat', default: 0, identity: false },
  chunk_bytes: { doc: 'Largest collective message (48-byte header + payload); also capped at the server max_payload', format: 'nat', default: 1024 * 1024 },
  wire_dtype: { doc: 'Gradient dtype on the wire for all-reduce; sums are always float32 (bf16: result = bf16 of the float32 sum of bf16-rounded gradients)', format: oneOf(['float32', 'bf16']), default: 'float32' },
  collective_timeout_ms: { doc: 'Deadline of one collective before the step is aborted', format: 'nat', default: 30000 },
  retransmit_ms: { doc: 'A collective asks peers to resend missing chunks after this long without a new one (lost chunks, or published before it subscribed)', format: 'nat', default: 250 },
  flow_window_bytes: { doc: 'Unacknowledged collective bytes in flight per peer; 0 = 32 MiB / (workers - 1), which keeps every subscriber under nats-server max_pending', format: 'nat', default: 0 },
  collective_connections: {
    doc: "NATS connections each worker opens for collectives with the project's own wire client (frames striped over them, spread over a cluster's servers); 0 = use the worker's control connection (nats.js, slower: docs/collectives.md)",
    format: integerIn(0, 16), default: 1,
  },
  heartbeat_ms: { doc: 'Worker heartbeat period', format: 'nat', default: 1000 },
  worker_timeout_ms: { doc: 'The one "worker gone" threshold: a worker silent this long is dropped from the membership (it learns so and may join again); a worker that hears nothing from the coordinator this long pauses. Must exceed 2 × heartbeat_ms', format: 'nat', default: 10000 },
  no_workers_timeout_ms: { doc: 'A job with no worker at all for this long ends as failed (naming the checkpoint to --resume from) instead of waiting forever', format: 'nat', default: 600000 },
  max_restarts: { doc: 'The local launcher restarts workers that die (not those exiting with a usage or data error, code 2) at most this many times in a job, like torchrun --max-restarts', format: 'nat', default: 3 },
  checksum_every: { doc: 'Steps between replica checksum comparisons; 0 disables', format: 'nat', default: 10 },
};
