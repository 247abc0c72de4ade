/**
 * @module collectives/options
 * Where the `dist` config section becomes the options of one epoch's `Collectives`, so that
 * programs never read config keys deep inside the collectives.
 */
import type { WorkerDistConfig } from '../config/worker-config.js';
import type { Logger } from '../log.js';
import type { CollectivesOptions } from './collectives.js';

/** Collectives options for one rank of one membership epoch. */
export function collectivesOptions(dist: WorkerDistConfig, member: { epoch: number; rank: number; worldSize: number; members?: readonly string[] }, log?: Logger): CollectivesOptions {
  return {
    job: dist.job,
    ...member,
    chunkBytes: dist.chunk_bytes,
    wireDtype: dist.wire_dtype,
    timeoutMs: dist.collective_timeout_ms,
    retransmitMs: dist.retransmit_ms,
    ...(dist.flow_window_bytes > 0 ? { windowBytes: dist.flow_window_bytes } : {}),
    connections: dist.collective_connections,
    ...(log ? { log } : {}),
  };
}
