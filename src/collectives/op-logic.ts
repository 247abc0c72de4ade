/**
 * @module collectives/op-logic
 * The seam between the network machinery of a collective call (`collective-call.ts`: pump,
 * flow control, deadlines, retransmits) and the algorithm of each collective (`all-reduce-op.ts`,
 * `gather-ops.ts`), which only sees chunk headers and frames and queues frames to send.
 *
 * Frames handed to `accept` are borrowed (views into the transport's receive memory, valid only
 * during the call): an algorithm copies what it keeps.
 */
import { CollectiveError } from '../errors.js';
import type { Range } from './chunking.js';
import { chunkFrameBytes, encodeChunk } from './chunk-frame.js';
import type { ChunkHeader, ChunkPhase, WireDtype } from '../protocol/messages.js';

/** What an algorithm may use of the call it runs in. */
export interface OpEnv {
  readonly rank: number;
  readonly worldSize: number;
  /** Every rank but this one, ascending. */
  readonly peers: readonly number[];
  readonly wire: WireDtype;
  readonly elemsPerChunk: number;
  /** e.g. `allReduceSum step 3 op "grads" (job j, epoch 2)`, for error messages. */
  describe(): string;
  /** A header for this call (job, epoch, step, op and source filled in). */
  header(phase: ChunkPhase, seq: number, totalChunks: number, range: Range, totalElems: number): ChunkHeader;
  /** Queues a frame; urgent frames (results, acks) go before bulk ones. */
  send(frame: OutgoingFrame): void;
  /** Memory for an outgoing frame of `bytes` (pooled, see `frame-pool.ts`). */
  frameMemory(bytes: number): Uint8Array;
}

export interface OutgoingFrame {
  phase: ChunkPhase;
  /** A rank, or `FAN_OUT` for every peer. */
  dest: number;
  seq: number;
  /** Frame size, known before it is built (flow control decides first). */
  bytes: number;
  urgent: boolean;
  /** Encodes the frame; called once, when the pump sends it. */
  build(): Uint8Array;
}

/** Chunks still missing from one source. */
export interface MissingStream {
  source: number;
  phase: ChunkPhase;
  /** null = the whole stream (its length is not known yet). */
  chunks: number[] | null;
}

export interface OpLogic<T> {
  /**
   * True if the call cannot finish without data from every peer (so when it has finished, every
   * peer has started it; `Outbox.settle`). False for a broadcast at a non-root rank.
   */
  readonly hearsFromAll: boolean;
  /** Contributes this rank's own data and queues the first frames. */
  start(): void;
  /** Takes one chunk (borrowed: copy what you keep); false for a duplicate. Throws `CollectiveError` on inconsistent input. */
  accept(header: ChunkHeader, frame: Uint8Array): boolean;
  /** Everything this rank needs has arrived and every frame it must send is queued. */
  readonly done: boolean;
  missing(): MissingStream[];
  result(): T;
}

/** A data frame of `range` taken from `source` (lazily encoded). */
export function dataFrame(env: OpEnv, phase: ChunkPhase, dest: number, seq: number, plan: readonly Range[], totalElems: number, source: Float32Array, urgent: boolean): OutgoingFrame {
  const range = plan[seq] as Range;
  return {
    phase,
    dest,
    seq,
    urgent,
    bytes: chunkFrameBytes(env.wire, range.count),
    build: () => encodeChunk(env.header(phase, seq, plan.length, range, totalElems), source, range.offset, env.frameMemory(chunkFrameBytes(env.wire, range.count))),
  };
}

/** Checks a received chunk against the plan this rank expects for it. */
export function expectChunk(env: OpEnv, h: ChunkHeader, plan: readonly Range[], totalElems: number): void {
  const fail = (why: string) => {
    throw new CollectiveError('COLLECTIVE_ABORTED', `${env.describe()}: rank ${h.sourceRank} ${why}`);
  };
  if (h.dtype !== env.wire) fail(`sends ${h.dtype} on the wire, this rank ${env.wire}: every rank must use the same dist.wire_dtype`);
  if (h.totalElems !== totalElems) fail(`announced a vector of ${h.totalElems} elements, this rank expected ${totalElems} (an all-reduce needs the same length on every rank)`);
  const range = plan[h.seq];
  if (h.totalChunks !== plan.length || !range || range.offset !== h.elemOffset || range.count !== h.elemCount) {
    fail(`sent chunk ${h.seq}/${h.totalChunks} at ${h.elemOffset}+${h.elemCount}, not the expected plan: every rank must use the same dist.chunk_bytes and server max_payload`);
  }
}
