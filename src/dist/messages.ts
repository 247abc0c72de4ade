/**
 * @module dist/messages
 * Every message that crosses NATS between instructue processes, as discriminated unions, with
 * the one `PROTOCOL_VERSION`. Control messages travel msgpack-encoded (`codec.ts` adds the
 * version and checks it); collective data chunks travel as binary frames whose fixed header is
 * `ChunkHeader` (layout in `codec.ts` and `docs/collectives.md`). Bump `PROTOCOL_VERSION` on any
 * incompatible change: a peer with another version is refused with `PROTOCOL_MISMATCH`.
 */

export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Collectives (src/dist/collectives.ts)
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
// Coordinator ↔ worker control messages (rendezvous, membership, heartbeats, checkpoints, …)
// — added by the coordinator/worker work; extend `ControlMessage` with their unions.
// ---------------------------------------------------------------------------------------------

export type ControlMessage = never;

/** Every msgpack-encoded message. */
export type Message = CollectiveControl | ControlMessage;
