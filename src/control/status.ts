/**
 * @module control/status
 * What the coordinator tells the outside world about a job: the status snapshot behind
 * `instructue status`, the dashboard, `/api/status` and `/metrics`, and the events streamed
 * over the ws status socket. Plain JSON.
 */

import type { MetricsLine } from '../train/metrics-line.js';

/** One line of RUN/metrics.jsonl (src/train/metrics-line.ts). */
export type { MetricsLine };

export type WorkerState = 'joining' | 'training' | 'paused' | 'lost' | 'left';

export interface WorkerStatus {
  id: string;
  /** Rank in the current membership epoch; null while joining. */
  rank: number | null;
  state: WorkerState;
  host: string;
  pid: number;
  backend: string;
  /** Last step this worker reported done. */
  step: number;
  /** Milliseconds of its last step spent computing (before entering collectives) and waiting in them. */
  computeMs: number;
  waitMs: number;
  /** Epoch milliseconds of its last heartbeat. */
  lastSeen: number;
}

export type JobState = 'waiting' | 'running' | 'reconfiguring' | 'stopping' | 'stopped' | 'done' | 'failed';

export interface CheckpointInfo {
  step: number;
  path: string;
  savedAt: string;
}

export interface JobStatus {
  job: string;
  state: JobState;
  /** Membership epoch (bumped on every join, loss or resize). */
  epoch: number;
  /** Last committed step (every rank finished it). */
  step: number;
  totalSteps: number;
  /** Workers wanted (the launcher's --workers or scale target). */
  targetWorkers: number;
  workers: WorkerStatus[];
  last: MetricsLine | null;
  checkpoints: CheckpointInfo[];
  startedAt: string;
  /** Why the job failed or stopped, when it did. */
  reason: string | null;
}

/** Events on the ws status socket (server → client). */
export type StatusEvent =
  | { type: 'hello'; status: JobStatus; history: MetricsLine[] }
  | { type: 'status'; status: JobStatus }
  | { type: 'metrics'; line: MetricsLine }
  | { type: 'checkpoint'; checkpoint: CheckpointInfo };

/** Requests on the ws socket or the HTTP API (client → server); they need the bearer token. */
export type ControlRequest =
  | { type: 'stop' }
  | { type: 'scale'; workers: number };

/** The answer to a ControlRequest. */
export interface ControlReply {
  ok: boolean;
  message: string;
}
