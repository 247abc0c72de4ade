/**
 * @module protocol/messages
 * Every message that crosses NATS between instructue processes, as discriminated unions, with
 * the one `PROTOCOL_VERSION`. Control messages travel msgpack-encoded (`codec.ts` adds the
 * version and checks it); collective data chunks travel as binary frames whose fixed header is
 * `ChunkHeader` (layout in `src/collectives/chunk-frame.ts` and `docs/collectives.md`). Bump `PROTOCOL_VERSION` on any
 * incompatible change: a peer with another version is refused with `PROTOCOL_MISMATCH`.
 */

import type { WorkerConfig } from '../config/worker-config.js';
import type { TrainCursor } from '../train/train-state.js';

// 3: per-worker join/event subjects and sender ids in collective subjects (docs/security.md).
export const PROTOCOL_VERSION = 3;

// ---------------------------------------------------------------------------------------------
// Collectives (src/collectives/collectives.ts)
// ---------------------------------------------------------------------------------------------

/** Element type on the wire; sums are always float32. */
export type WireDtype = 'float32' | 'bf16';

/**
 * What a data chunk carries: `reduce-scatter` = a rank's contribution to the owner of a segment
 * (all-reduce, point to point); `gather` = data fanned out by its source (all-reduce results,
 * all-gather, broadcast); `ack` = an empty receipt (a broadcast's receivers tell the root).
 */
export type ChunkPhase = 'reduce-scatter' | 'gather' | 'ack';

/** The fixed header of a binary data chunk (the protocol version is implicit in the frame). */
export interface ChunkHeader {
  phase: ChunkPhase;
  dtype: WireDtype;
  /** FNV-1a 32-bit hash of the job name (the subject carries the name itself). */
  jobHash: number;
  epoch: number;
  step: number;
  /** FNV-1a 32-bit hash of the op name. */
  opHash: number;
  /** Chunk index within its stream, 0 … totalChunks−1. */
  seq: number;
  totalChunks: number;
  sourceRank: number;
  /** Position of the first element in the whole vector. */
  elemOffset: number;
  elemCount: number;
  /** Length of the whole vector the chunk belongs to. */
  totalElems: number;
}

/** Identifies one collective call on the wire. */
interface CollectiveRef {
  job: string;
  epoch: number;
  step: number;
  op: string;
}

/** "Send me these chunks again" (they were lost, or published before I subscribed). */
export interface RetransmitRequest extends CollectiveRef {
  type: 'collective.retransmit';
  requester: number;
  phase: ChunkPhase;
  /** Chunk indices wanted; null = every chunk of the stream (its length is not known yet). */
  chunks: number[] | null;
  /** Distinct bytes the requester has received from you for this call (refreshes flow credit). */
  receivedBytes: number;
}

/** Flow-control credit: the receiver has taken `receivedBytes` distinct bytes from you for this call. */
export interface FlowCredit extends CollectiveRef {
  type: 'collective.credit';
  receiver: number;
  receivedBytes: number;
}

/** A rank gave up on a call (deadline passed, bad input); peers fail the same call at once. */
export interface CollectiveAbort extends CollectiveRef {
  type: 'collective.abort';
  rank: number;
  code: 'COLLECTIVE_ABORTED' | 'COLLECTIVE_TIMEOUT';
  reason: string;
}

export type CollectiveControl = RetransmitRequest | FlowCredit | CollectiveAbort;

// ---------------------------------------------------------------------------------------------
// Coordinator ↔ worker control messages (src/coordinator, src/worker; subjects in job-subjects.ts)
// ---------------------------------------------------------------------------------------------

/** What a worker is told to run: the config it needs (never the coordinator's whole config). */
export interface WorkerAssignment {
  /** The run config as a worker knows it: no control settings, no NATS address or credentials. */
  config: WorkerConfig;
  /** The run folder on storage shared with the coordinator (rank 0 writes checkpoints there). */
  runDir: string;
}

/** Where the ranks of a new epoch get their state: rank 0 loads it, then broadcasts to all. */
export type EpochStart =
  | { kind: 'fresh' }
  | { kind: 'checkpoint'; path: string; cursor: TrainCursor }
  | { kind: 'snapshot'; cursor: TrainCursor };

/** Worker → coordinator (request/reply): let me in. */
export interface JoinRequest {
  type: 'join';
  workerId: string;
  host: string;
  pid: number;
  backend: string;
}

/** Coordinator → worker: the answer to a join. */
export type JoinReply =
  | { type: 'join.ok'; incarnation: string; heartbeatMs: number; workerTimeoutMs: number }
  /** `retryable`: the refusal may pass (an id still held by a process that is timing out); else give up. */
  | { type: 'join.refused'; reason: string; retryable: boolean };

/** Coordinator → one worker: run epoch `epoch` as `rank` of `members` (an epoch bump aborts the old one); or leave. */
export type WorkerDirect = AssignMessage | { type: 'release'; reason: string };

export interface AssignMessage {
  type: 'assign';
  incarnation: string;
  epoch: number;
  rank: number;
  members: string[];
  assignment: WorkerAssignment;
  start: EpochStart;
}

/** Coordinator → all workers. */
export type CoordinatorBroadcast =
  | { type: 'coordinator.hello'; incarnation: string }
  | { type: 'committed'; epoch: number; step: number }
  | { type: 'pause'; epoch: number; reason: 'stop' | 'resize' }
  | { type: 'shutdown'; reason: string };

/**
 * A worker process's collective figures since it started, summed over its membership epochs
 * (`Collectives.totals` of each). Cumulative, so a lost report loses nothing: the next one carries
 * it; the coordinator turns them into counters (a smaller figure means a new process).
 */
export interface CollectiveCounts {
  retransmitRequests: number;
  /** Calls that passed their deadline (`COLLECTIVE_TIMEOUT`). */
  timeouts: number;
  /** Calls that failed otherwise: a peer's abort, a new epoch, bad input (`COLLECTIVE_ABORTED`, `MEMBERSHIP_CHANGED`). */
  aborts: number;
  bytesSent: number;
  bytesReceived: number;
}

/** Worker → coordinator events. */
export type WorkerEvent =
  | { type: 'heartbeat'; workerId: string; epoch: number; step: number; backend: string }
  | {
      type: 'step.done'; workerId: string; epoch: number; rank: number; step: number;
      /** Data epoch of the batch and the sample ids this rank used. */
      dataEpoch: number; ids: string[];
      /** Rank 0 only: the metrics line and the cursor after the step. */
      metrics: Record<string, number | null> | null; cursor: TrainCursor | null;
      computeMs: number; waitMs: number;
      /** Real (non-padding) tokens this rank trained on in the step (absent from older workers). */
      tokens?: number;
      /** This worker process's collective counters so far (absent from older workers). */
      collectives?: CollectiveCounts;
    }
  /**
   * Rank 0 published the checkpoint of `step` (with the cursor it holds, for a later restart from
   * it), `bytes` in its files, written in `saveMs` (both absent from older workers).
   */
  | { type: 'checkpoint.saved'; workerId: string; epoch: number; step: number; path: string; cursor: TrainCursor; bytes?: number; saveMs?: number }
  | { type: 'paused'; workerId: string; epoch: number; step: number; leaving: boolean }
  | { type: 'finished'; workerId: string; epoch: number; step: number }
  | { type: 'fault'; workerId: string; epoch: number; step: number; code: string; message: string; silentRanks: number[] };

/**
 * Coordinator → worker: the answer to every WorkerEvent (they are requests, retried until
 * answered, because core NATS drops what is published while a side reconnects).
 */
export interface EventAck {
  type: 'ack';
  incarnation: string;
  /** The job ended (done, stopped or failed): the worker exits. */
  jobOver: boolean;
  /** The coordinator does not count this worker as a member (it was dropped as lost): stop stepping, discard uncommitted work and join again. */
  rejoin: boolean;
  /** This worker was released by a scale-down (in case it missed the message): exit. */
  release: boolean;
}

export type ControlMessage = JoinRequest | JoinReply | WorkerDirect | CoordinatorBroadcast | WorkerEvent | EventAck;

/** Every msgpack-encoded message. */
export type Message = CollectiveControl | ControlMessage;
