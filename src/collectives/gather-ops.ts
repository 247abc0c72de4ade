/**
 * @module collectives/gather-ops
 * All-gather and broadcast: a source fans its vector out in chunks; receivers learn its length
 * from the first chunk. A broadcast's receivers answer the root with an empty `ack` chunk, so
 * the root's call also waits for every peer (which is what bounds how long senders must keep
 * frames for retransmission, see `outbox.ts`). Barrier = all-gather of empty vectors.
 */
import { CollectiveError } from '../errors.js';
import { roundToBf16InPlace } from './bf16.js';
import { ChunkStream } from './chunk-stream.js';
import { chunkRanges } from './chunking.js';
import { readChunkValues } from './chunk-frame.js';
import type { ChunkHeader } from '../protocol/messages.js';
import { dataFrame, expectChunk, type MissingStream, type OpEnv, type OpLogic } from './op-logic.js';
import { FAN_OUT } from './outbox.js';

const EMPTY = new Float32Array(0);

/** One vector of unknown length arriving from `source`. */
class InboundVector {
  readonly stream: ChunkStream;
  values: Float32Array | undefined;

  constructor(readonly source: number) {
    this.stream = new ChunkStream(source);
  }

  accept(env: OpEnv, h: ChunkHeader, frame: Uint8Array): boolean {
    if (h.phase !== 'gather') throw new CollectiveError('COLLECTIVE_ABORTED', `${env.describe()}: unexpected ${h.phase} chunk from rank ${h.sourceRank}`);
    const length = this.values?.length ?? h.totalElems;
    expectChunk(env, h, chunkRanges({ offset: 0, count: length }, env.elemsPerChunk), length);
    if (!this.stream.add(h.seq, h.totalChunks, () => env.describe())) return false;
    this.values ??= new Float32Array(length);
    readChunkValues(frame, h, this.values, h.elemOffset);
    return true;
  }

  missing(): MissingStream {
    return { source: this.source, phase: 'gather', chunks: this.stream.missing() };
  }
}

/** This rank's contribution as sent: a copy, rounded when bf16 travels, so every rank sees the same bits. */
function ownCopy(env: OpEnv, data: Float32Array): Float32Array {
  return env.wire === 'bf16' ? roundToBf16InPlace(data.slice()) : data.slice();
}

function sendVector(env: OpEnv, values: Float32Array): void {
  if (env.worldSize === 1) return;
  const plan = chunkRanges({ offset: 0, count: values.length }, env.elemsPerChunk);
  for (let c = 0; c < plan.length; c++) env.send(dataFrame(env, 'gather', FAN_OUT, c, plan, values.length, values, false));
}

export class AllGatherOp implements OpLogic<Float32Array[]> {
  readonly hearsFromAll = true;
  private readonly own: Float32Array;
  private readonly inbound: Map<number, InboundVector>;

  constructor(
    private readonly env: OpEnv,
    data: Float32Array,
  ) {
    this.own = ownCopy(env, data);
    this.inbound = new Map(env.peers.map((peer) => [peer, new InboundVector(peer)]));
  }

  get done(): boolean {
    return [...this.inbound.values()].every((v) => v.stream.complete);
  }

  start(): void {
    sendVector(this.env, this.own);
  }

  accept(h: ChunkHeader, frame: Uint8Array): boolean {
    const from = this.inbound.get(h.sourceRank);
    if (!from) throw new CollectiveError('COLLECTIVE_ABORTED', `${this.env.describe()}: chunk from unexpected rank ${h.sourceRank}`);
    return from.accept(this.env, h, frame);
  }

  missing(): MissingStream[] {
    return [...this.inbound.values()].filter((v) => !v.stream.complete).map((v) => v.missing());
  }

  result(): Float32Array[] {
    return Array.from({ length: this.env.worldSize }, (_, r) => (r === this.env.rank ? this.own : (this.inbound.get(r)?.values ?? EMPTY)));
  }
}

export class BroadcastOp implements OpLogic<Float32Array> {
  readonly hearsFromAll: boolean;
  private readonly own: Float32Array | undefined;
  private readonly fromRoot: InboundVector | undefined;
  private readonly acks: Map<number, ChunkStream>;
  private acked = false;

  constructor(
    private readonly env: OpEnv,
    data: Float32Array | null,
    private readonly root: number,
  ) {
    const isRoot = env.rank === root;
    this.hearsFromAll = isRoot; // the root waits for every ack; a receiver only for the root
    if (isRoot && !data) throw new CollectiveError('COLLECTIVE_ABORTED', `${env.describe()}: the root (rank ${root}) must pass the data to broadcast`);
    this.own = isRoot && data ? ownCopy(env, data) : undefined;
    this.fromRoot = isRoot ? undefined : new InboundVector(root);
    this.acks = new Map(isRoot ? env.peers.map((peer) => [peer, new ChunkStream(peer, 1)]) : []);
  }

  get done(): boolean {
    return this.fromRoot ? this.acked : [...this.acks.values()].every((s) => s.complete);
  }

  start(): void {
    if (this.own) sendVector(this.env, this.own);
  }

  accept(h: ChunkHeader, frame: Uint8Array): boolean {
    if (this.fromRoot) {
      if (h.sourceRank !== this.root) throw new CollectiveError('COLLECTIVE_ABORTED', `${this.env.describe()}: chunk from rank ${h.sourceRank}, not the root ${this.root}`);
      if (!this.fromRoot.accept(this.env, h, frame)) return false;
      if (this.fromRoot.stream.complete) this.sendAck();
      return true;
    }
    const ack = h.phase === 'ack' ? this.acks.get(h.sourceRank) : undefined;
    if (!ack || h.elemCount !== 0) throw new CollectiveError('COLLECTIVE_ABORTED', `${this.env.describe()}: the root got an unexpected ${h.phase} chunk from rank ${h.sourceRank}`);
    return ack.add(h.seq, h.totalChunks, () => this.env.describe());
  }

  missing(): MissingStream[] {
    if (this.fromRoot) return this.fromRoot.stream.complete ? [] : [this.fromRoot.missing()];
    return [...this.acks.values()].filter((s) => !s.complete).map((s) => ({ source: s.source, phase: 'ack' as const, chunks: [0] }));
  }

  result(): Float32Array {
    return this.own ?? this.fromRoot?.values ?? EMPTY;
  }

  private sendAck(): void {
    this.acked = true;
    this.env.send(dataFrame(this.env, 'ack', this.root, 0, [{ offset: 0, count: 0 }], 0, EMPTY, true));
  }
}
