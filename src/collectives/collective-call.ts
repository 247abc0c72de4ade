/**
 * @module collectives/collective-call
 * One collective call on one rank: runs its algorithm (`OpLogic`), sends the frames it queues
 * through a flow-controlled pump, returns credit for what arrives, asks for retransmission when
 * nothing new has arrived for `retransmitMs` (lost chunks, or chunks published before this rank
 * subscribed), and fails with `CollectiveTimeoutError` naming the missing ranks and chunks when
 * the deadline passes. It resolves only when everything has arrived and every queued frame is
 * sent, so peers can always ask for a lost frame again.
 */
import { CollectiveError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Range } from './chunking.js';
import { hash32 } from './chunk-frame.js';
import { FlowWindow } from './flow-control.js';
import type { ChunkHeader, ChunkPhase, CollectiveControl, WireDtype } from '../protocol/messages.js';
import type { MissingStream, OpEnv, OpLogic, OutgoingFrame } from './op-logic.js';
import { FAN_OUT, streamName, type Outbox } from './outbox.js';
import type { CollectiveSubjects } from './collective-subjects.js';
import type { StripedSubject } from './stripes.js';

export type CollectiveKind = 'allReduceSum' | 'allGather' | 'broadcast' | 'barrier';

/** Figures of one call, for metrics (`Collectives.lastStats`). */
export interface CallStats {
  kind: CollectiveKind;
  step: number;
  op: string;
  wireDtype: WireDtype;
  /** Bytes this rank published (a fan-out counts once; the server copies it to each peer). */
  bytesSent: number;
  /** Bytes of chunks received for this call, duplicates included. */
  bytesReceived: number;
  framesSent: number;
  framesReceived: number;
  duplicates: number;
  retransmitRequests: number;
  totalMs: number;
  /** Time in local work: encoding, decoding, summing (= encodeMs + reduceMs + copyMs). */
  computeMs: number;
  /** Encoding frames (header + values, bf16 rounding on the wire). */
  encodeMs: number;
  /** Taking in reduce-scatter contributions: decoding and summing. */
  reduceMs: number;
  /** Taking in gathered chunks (results, all-gather data): copying them into place. */
  copyMs: number;
  /** Inside `Transport.publish` (queuing frames; the socket writes happen after). */
  publishMs: number;
  /** totalMs − computeMs: time spent waiting for peers and the network. */
  waitMs: number;
}

/**
 * A call passed its deadline. `silentRanks` sent nothing at all for it (the likely dead or
 * stalled ones); `missing` lists every incomplete stream (an all-reduce also misses the results
 * of live owners that waited for a silent rank).
 */
export class CollectiveTimeoutError extends CollectiveError {
  constructor(
    message: string,
    readonly missing: MissingStream[],
    readonly silentRanks: number[],
  ) {
    super('COLLECTIVE_TIMEOUT', message);
  }
}

/** What a call needs from its `Collectives`. */
export interface CallHost {
  readonly subjects: CollectiveSubjects;
  readonly outbox: Outbox;
  readonly log: Logger;
  readonly job: string;
  readonly jobHash: number;
  readonly epoch: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly peers: readonly number[];
  readonly timeoutMs: number;
  readonly retransmitMs: number;
  readonly windowBytes: number;
  elemsPerChunk(wire: WireDtype): number;
  /** Publishes frame `seq` of a stream on that seq's stripe (`subject` of the stripe's token). */
  publish(seq: number, subject: StripedSubject, frame: Uint8Array): void;
  frameMemory(bytes: number): Uint8Array;
  sendControl(dest: number | 'all', message: CollectiveControl): void;
}

/** Let the event loop run (socket writes, incoming chunks) after about this many bytes published. */
const YIELD_BYTES = 1024 * 1024;

export class CollectiveCall<T> {
  readonly stats: CallStats;
  private readonly logic: OpLogic<T>;
  private readonly flow: FlowWindow;
  private readonly queues: { urgent: OutgoingFrame[]; bulk: OutgoingFrame[] } = { urgent: [], bulk: [] };
  private readonly heads = { urgent: 0, bulk: 0 };
  private readonly received = new Map<number, number>();
  private readonly credited = new Map<number, number>();
  private deadline: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = performance.now();
  private sending = false;
  private finished = false;
  private wakePump: (() => void) | undefined;
  private progress = 0;
  private resolve!: (value: T) => void;
  private reject!: (err: Error) => void;
  readonly promise: Promise<T>;
  private readonly description: string;

  constructor(
    private readonly host: CallHost,
    readonly key: string,
    kind: CollectiveKind,
    readonly step: number,
    readonly op: string,
    wire: WireDtype,
    make: (env: OpEnv) => OpLogic<T>,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.description = `${kind} step ${step} op "${op}" (job ${host.job}, epoch ${host.epoch}, rank ${host.rank} of ${host.worldSize})`;
    this.stats = {
      kind, step, op, wireDtype: wire, bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0, duplicates: 0, retransmitRequests: 0,
      totalMs: 0, computeMs: 0, encodeMs: 0, reduceMs: 0, copyMs: 0, publishMs: 0, waitMs: 0,
    };
    this.flow = new FlowWindow(host.windowBytes, host.log);
    this.logic = make(this.env(wire));
  }

  /** Starts the call; `early` are chunks of it that arrived before it started. */
  run(early: ReadonlyArray<{ header: ChunkHeader; frame: Uint8Array }>): Promise<T> {
    const { timeoutMs, retransmitMs } = this.host;
    this.deadline = setTimeout(() => this.fail(this.timeoutError(), true), timeoutMs);
    this.watchForStalls(retransmitMs, 0);
    try {
      this.compute('reduceMs', () => this.logic.start());
    } catch (err) {
      this.fail(err as Error, true);
    }
    for (const { header, frame } of early) this.accept(header, frame);
    void this.pump();
    this.checkDone();
    return this.promise;
  }

  accept(header: ChunkHeader, frame: Uint8Array): void {
    if (this.finished) return;
    let fresh: boolean;
    try {
      fresh = this.compute(header.phase === 'reduce-scatter' ? 'reduceMs' : 'copyMs', () => this.logic.accept(header, frame));
    } catch (err) {
      this.fail(err as Error, true);
      return;
    }
    this.stats.framesReceived++;
    this.stats.bytesReceived += frame.byteLength;
    if (!fresh) {
      this.stats.duplicates++;
      return;
    }
    this.progress++;
    this.returnCredit(header.sourceRank, frame.byteLength);
    this.checkDone();
  }

  /**
   * Asks for missing chunks when nothing new arrived for `delay` ms, backing off (×2, up to 4×
   * `retransmitMs`) while asking does not help: under heavy load a peer can be slow without
   * anything being lost, and repeated requests would only produce duplicates.
   */
  private watchForStalls(delay: number, seen: number): void {
    this.stallTimer = setTimeout(() => {
      // Timers run before the loop polls sockets: after this process was busy or descheduled,
      // chunks may be waiting unread. Judge progress after the poll phase (setImmediate).
      setImmediate(() => {
        if (this.finished) return;
        const stalled = this.progress === seen;
        if (stalled) this.requestMissing();
        const base = this.host.retransmitMs;
        this.watchForStalls(stalled ? Math.min(2 * delay, 4 * base) : base, this.progress);
      });
    }, delay);
  }

  /** True if this call heard from every peer (see `OpLogic.hearsFromAll`). */
  get heardFromAll(): boolean {
    return this.logic.hearsFromAll;
  }

  /** Flow credit from `peer` (a `FlowCredit`, or the count in its retransmit request). */
  credit(peer: number, receivedBytes: number): void {
    this.flow.credit(peer, receivedBytes);
  }

  fail(err: Error, tellPeers: boolean): void {
    if (this.finished) return;
    this.finish();
    this.flow.cancel(err);
    if (tellPeers) {
      const code = err instanceof CollectiveTimeoutError ? 'COLLECTIVE_TIMEOUT' : 'COLLECTIVE_ABORTED';
      this.host.sendControl('all', { type: 'collective.abort', ...this.ref(), rank: this.host.rank, code, reason: err.message });
    }
    this.reject(err);
  }

  private env(wire: WireDtype): OpEnv {
    const { host, step } = this;
    const opHash = hash32(this.op);
    return {
      rank: host.rank,
      worldSize: host.worldSize,
      peers: host.peers,
      wire,
      elemsPerChunk: host.elemsPerChunk(wire),
      describe: () => this.description,
      header: (phase: ChunkPhase, seq: number, totalChunks: number, range: Range, totalElems: number) => ({
        phase, dtype: wire, jobHash: host.jobHash, epoch: host.epoch, step, opHash, seq, totalChunks,
        sourceRank: host.rank, elemOffset: range.offset, elemCount: range.count, totalElems,
      }),
      send: (frame) => {
        (frame.urgent ? this.queues.urgent : this.queues.bulk).push(frame);
        this.wakePump?.();
      },
      frameMemory: (bytes) => host.frameMemory(bytes),
    };
  }

  private async pump(): Promise<void> {
    const { host } = this;
    let sinceYield = 0;
    while (!this.finished) {
      const next = this.nextFrame();
      if (!next) {
        this.checkDone();
        if (this.finished) return;
        await new Promise<void>((resolve) => (this.wakePump = resolve));
        this.wakePump = undefined;
        continue;
      }
      const peers = next.dest === FAN_OUT ? host.peers : [next.dest];
      this.sending = true;
      try {
        await this.flow.wait(peers, next.bytes);
      } catch {
        return; // the call failed meanwhile
      }
      if (this.finished) return;
      const frame = this.compute('encodeMs', () => next.build());
      const t0 = performance.now();
      try {
        host.publish(next.seq, (stripe) => (next.dest === FAN_OUT ? host.subjects.fromRank(this.op, host.rank, stripe) : host.subjects.toRank(this.op, next.dest, stripe)), frame);
      } catch (err) {
        this.fail(new CollectiveError('COLLECTIVE_ABORTED', `${this.description}: publish failed: ${(err as Error).message}`, { cause: err }), false);
        return;
      }
      this.stats.publishMs += performance.now() - t0;
      host.outbox.record(this.key, streamName(next.phase, next.dest), next.seq, frame);
      this.flow.recordSent(peers, frame.byteLength);
      this.stats.framesSent++;
      this.stats.bytesSent += frame.byteLength;
      this.sending = false;
      sinceYield += frame.byteLength;
      if (sinceYield >= YIELD_BYTES) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  private nextFrame(): OutgoingFrame | undefined {
    for (const lane of ['urgent', 'bulk'] as const) {
      const queue = this.queues[lane];
      if (this.heads[lane] < queue.length) {
        const frame = queue[this.heads[lane]] as OutgoingFrame;
        queue[this.heads[lane]++] = undefined as unknown as OutgoingFrame; // let it be collected
        return frame;
      }
    }
    return undefined;
  }

  private checkDone(): void {
    const idle = !this.sending && this.heads.urgent === this.queues.urgent.length && this.heads.bulk === this.queues.bulk.length;
    if (this.finished || !idle || !this.logic.done) return;
    this.finish();
    this.resolve(this.logic.result());
  }

  private finish(): void {
    this.finished = true;
    clearTimeout(this.deadline);
    clearTimeout(this.stallTimer);
    this.wakePump?.();
    this.stats.totalMs = performance.now() - this.startedAt;
    this.stats.waitMs = Math.max(0, this.stats.totalMs - this.stats.computeMs);
  }

  private returnCredit(source: number, bytes: number): void {
    const total = (this.received.get(source) ?? 0) + bytes;
    this.received.set(source, total);
    if (total - (this.credited.get(source) ?? 0) >= this.host.windowBytes / 2) {
      this.credited.set(source, total);
      this.host.sendControl(source, { type: 'collective.credit', ...this.ref(), receiver: this.host.rank, receivedBytes: total });
    }
  }

  private requestMissing(): void {
    if (this.finished) return;
    for (const m of this.logic.missing()) {
      this.stats.retransmitRequests++;
      this.host.sendControl(m.source, {
        type: 'collective.retransmit', ...this.ref(), requester: this.host.rank, phase: m.phase, chunks: m.chunks, receivedBytes: this.received.get(m.source) ?? 0,
      });
    }
  }

  private timeoutError(): CollectiveTimeoutError {
    const missing = this.logic.missing();
    const silent = [...new Set(missing.map((m) => m.source))].filter((r) => !this.received.has(r)).sort((a, b) => a - b);
    const what = missing.map((m) => `${m.phase} ${m.chunks ? `chunks [${m.chunks.join(',')}]` : '(everything)'} from rank ${m.source}`).join('; ');
    const message = `${this.description} timed out after ${this.host.timeoutMs} ms; nothing at all from ranks [${silent.join(',')}]; missing: ${what || 'nothing (frames still queued to send)'}`;
    return new CollectiveTimeoutError(message, missing, silent);
  }

  private ref() {
    return { job: this.host.job, epoch: this.host.epoch, step: this.step, op: this.op };
  }

  private compute<R>(phase: 'encodeMs' | 'reduceMs' | 'copyMs', fn: () => R): R {
    const t = performance.now();
    try {
      return fn();
    } finally {
      const ms = performance.now() - t;
      this.stats.computeMs += ms;
      this.stats[phase] += ms;
    }
  }
}
