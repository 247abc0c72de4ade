/**
 * @module config/worker-config
 * What a worker knows of a run (vitest's `serializeConfig`): the run config without what only
 * the coordinator needs — the control server (ports, token) and the NATS address and credentials
 * (each worker connects with its own, from its environment). Built field by field, so the type
 * says exactly what crosses the wire and a new secret cannot ride along by accident; the worker
 * validates what it receives once (`loadWorkerConfig`). The training code takes this type, and a
 * full config is one too.
 */
import { deepFreeze, loadConfig, type Frozen } from './load.js';
import type { CudaConfig, WebgpuConfig, DataConfig, DistConfig, InstructueConfig, ModelConfig, TrainConfig } from './schema.js';

/** The `dist` keys a rank uses: collectives, heartbeats, checks (no NATS address or credentials). */
export type WorkerDistConfig = Pick<DistConfig, 'job' | 'chunk_bytes' | 'wire_dtype' | 'collective_timeout_ms' | 'retransmit_ms' | 'flow_window_bytes' | 'collective_connections' | 'heartbeat_ms' | 'worker_timeout_ms' | 'checksum_every'>;

export interface WorkerConfig extends Omit<InstructueConfig, 'dist' | 'control'> {
  dist: WorkerDistConfig;
}

/** The worker's view of `config` (plain data, safe to encode). */
export function workerConfigOf(config: Frozen<WorkerConfig>): WorkerConfig {
  const d = config.dist;
  const clone = <T>(value: Frozen<T>): T => structuredClone(value) as T;
  return {
    name: config.name,
    backend: config.backend,
    blas_threads: config.blas_threads,
    cuda: clone<CudaConfig>(config.cuda),
    webgpu: clone<WebgpuConfig>(config.webgpu),
    seed: config.seed,
    model: clone<ModelConfig>(config.model),
    data: clone<DataConfig>(config.data),
    train: clone<TrainConfig>(config.train),
    dist: {
      job: d.job, chunk_bytes: d.chunk_bytes, wire_dtype: d.wire_dtype, collective_timeout_ms: d.collective_timeout_ms, retransmit_ms: d.retransmit_ms,
      flow_window_bytes: d.flow_window_bytes, collective_connections: d.collective_connections, heartbeat_ms: d.heartbeat_ms, worker_timeout_ms: d.worker_timeout_ms, checksum_every: d.checksum_every,
    },
  };
}

/**
 * Validates a received worker config against the schema (strict: an unknown or malformed key
 * fails, naming it) and freezes it; `backend` overrides the run's backend on this worker.
 */
export function loadWorkerConfig(received: WorkerConfig, backend?: string): Frozen<WorkerConfig> {
  const full: Frozen<InstructueConfig> = loadConfig({ object: received, overrides: backend ? { backend } : {}, env: {} });
  return deepFreeze(workerConfigOf(full));
}
