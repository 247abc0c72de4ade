/**
 * @module collectives/collectives
 * Collectives for one rank of one membership epoch over any `Transport`: all-reduce (sum),
 * all-gather, broadcast and barrier on plain Float32Arrays. Calls are serialized and every rank
 * must make the same calls in the same order, each named by (step, op). Delivery underneath is
 * at-most-once, so every chunk is tagged (job, epoch, step, op, seq), lost chunks are asked for
 * again, and a call that cannot complete by its deadline rejects with a `CollectiveError` —
 * never a silently wrong result. The protocol is described in `docs/collectives.md`.
 *
 * Usage: `await c.start()` on every rank (opens the data connections, subscribes), then a
 * `barrier` — chunks published before a peer subscribed are lost, and the retransmit path
 * recovers them — then the calls. `abort(reason)` when the coordinator announces a new epoch;
 * `close()` after a final barrier.
 */
import { CollectiveError, ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { AllReduceOp } from './all-reduce-op.js';
import { elementsPerChunk } from './chunking.js';
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import { decodeChunkHeader, hash32 } from './chunk-frame.js';
import { CollectiveCall, type CallHost, type CallStats, type CollectiveKind } from './collective-call.js';
import { AllGatherOp, BroadcastOp } from './gather-ops.js';
import type { ChunkHeader, CollectiveAbort, CollectiveControl, RetransmitRequest, WireDtype } from '../protocol/messages.js';
import type { OpEnv, OpLogic } from './op-logic.js';
import { FAN_OUT, Outbox, streamName } from './outbox.js';
import { isSubjectToken } from '../transport/subject-syntax.js';
import { CollectiveSubjects } from './collective-subjects.js';
import { FramePool } from './frame-pool.js';
import { Stripes } from './stripes.js';
import type { Transport, TransportMessage } from '../transport/transport.js';

export { CollectiveTimeoutError, type CallStats, type CollectiveKind } from './collective-call.js';

export interface CollectivesOptions {
  /** Job name (a subject token: letters, digits, `-`, `_`). */
  job: string;
  /** Membership epoch; every subject and chunk carries it. */
  epoch: number;
  rank: number;
  worldSize: number;
  /** Largest frame (header + payload) to publish; also capped by the server's max_payload. */
  chunkBytes: number;
  /** Wire dtype of `allReduceSum` (gradients); all-gather and broadcast default to float32. */
  wireDtype: WireDtype;
  /** Deadline of one call, from the moment it starts. */
  timeoutMs: number;
  /** Ask for missing chunks after this long without a new one (default min(250, timeoutMs/4)). */
  retransmitMs?: number;
  /** Unacknowledged bytes in flight per peer (default max(32 MiB / (worldSize−1), 4 chunks)). */
  windowBytes?: number;
  /**
   * Data connections of this rank's own (`stripes.ts`): 0 (default) = use `transport` itself;
   * K ≥ 1 = open K connections (`Transport.openDataConnections`) and stripe frames over them.
   */
  connections?: number;
  /**
   * The worker id of each rank (the epoch's members, in rank order): every subject this rank
   * publishes carries its own id, and frames whose sender is not the member of the rank they
   * claim are dropped (counted in `droppedForeignSender`). Default `r0`, `r1`, ….
   */
  members?: readonly string[];
  log?: Logger;
}

export interface CallOptions {
  /** Overrides the wire dtype for this call. */
  wireDtype?: WireDtype;
}

export interface AllReduceOptions extends CallOptions {
  /**
   * Write the sum into the input array and return it (no result allocation: the gradient
   * buffer is reduced where it lies). The input must not be read or changed until the call
   * settles; if it rejects, the array's contents are unspecified.
   */
  inPlace?: boolean;
}

/** Counters over the life of a `Collectives` (for metrics). */
export interface CollectiveTotals {
  calls: number;
  bytesSent: number;
  bytesReceived: number;
  retransmitRequests: number;
  retransmitFramesServed: number;
  duplicates: number;
  droppedOtherJob: number;
  droppedOtherEpoch: number;
  /** Chunks of calls already finished (late duplicates, answers to old retransmit requests). */
  droppedStale: number;
  droppedInvalid: number;
  /** Frames and control messages whose subject's sender is not the member of the rank they claim. */
  droppedForeignSender: number;
  timeouts: number;
  aborts: number;
}

/** Total in-flight budget per receiver: half of nats-server's default max_pending (64 MiB). */
const FLOW_BUDGET_BYTES = 32 * 1024 * 1024;
/** Frame memory kept for reuse, at most (about two calls of a 64 MiB vector). */
const POOL_BYTES = 256 * 1024 * 1024;

export class Collectives {
  private readonly host: CallHost;
  private readonly subjects: CollectiveSubjects;
  private readonly outbox = new Outbox();
  private readonly log: Logger;
  private stripes: Stripes | undefined;
  private frameBytes: number;
  private pool: FramePool;
  private readonly early = new Map<string, { step: number; chunks: Array<{ header: ChunkHeader; frame: Uint8Array }> }>();
  private readonly finishedKeys = new Map<string, number>();
  private readonly peerAborts = new Map<string, CollectiveError>();
  private readonly invoked = new Set<string>();
  private current: CollectiveCall<unknown> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private lastStep = -1;
  private startedStep = -1;
  private started = false;
  private aborted: CollectiveError | undefined;
  private last: CallStats | undefined;
  private readonly counters: CollectiveTotals = {
    calls: 0, bytesSent: 0, bytesReceived: 0, retransmitRequests: 0, retransmitFramesServed: 0, duplicates: 0,
    droppedOtherJob: 0, droppedOtherEpoch: 0, droppedStale: 0, droppedInvalid: 0, droppedForeignSender: 0, timeouts: 0, aborts: 0,
  };

  constructor(
    private readonly transport: Transport,
    private readonly options: CollectivesOptions,
  ) {
    const { job, epoch, rank, worldSize, chunkBytes, timeoutMs } = options;
    if (!isSubjectToken(job)) throw new ConfigError(`dist.job "${job}" must be letters, digits, - or _ (it is a NATS subject token)`);
    if (!Number.isInteger(worldSize) || worldSize < 1 || !Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
      throw new RangeError(`rank ${rank} of world size ${worldSize} is not a valid rank`);
    }
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) throw new RangeError(`epoch ${epoch} must be an integer in [0, 2^32)`);
    if (!(timeoutMs > 0)) throw new ConfigError(`dist.collective_timeout_ms must be > 0, got ${timeoutMs}`);
    this.frameBytes = Math.min(chunkBytes, transport.maxPayload);
    elementsPerChunk(this.frameBytes, 'float32'); // throws early if a frame cannot hold a value
    this.pool = new FramePool(this.frameBytes, 0);
    this.subjects = new CollectiveSubjects(job, epoch, rank, worldSize, options.members);
    this.log = (options.log ?? silentLogger).child({ job, epoch, rank });
    const peers = Array.from({ length: worldSize }, (_, r) => r).filter((r) => r !== rank);
    this.host = {
      subjects: this.subjects, outbox: this.outbox, log: this.log, job, jobHash: hash32(job), epoch, rank, worldSize, peers, timeoutMs,
      retransmitMs: options.retransmitMs ?? Math.min(250, timeoutMs / 4),
      windowBytes: options.windowBytes ?? Math.max(4 * this.frameBytes, Math.floor(FLOW_BUDGET_BYTES / Math.max(1, worldSize - 1))),
      elemsPerChunk: (wire) => elementsPerChunk(this.frameBytes, wire),
      publish: (seq, subject, frame) => (this.stripes as Stripes).publish(seq, subject, frame),
      frameMemory: (bytes) => this.pool.acquire(bytes),
      sendControl: (dest, message) => this.sendControl(dest, message),
    };
  }

  /**
   * Opens this rank's data connections (option `connections`), subscribes to its subjects and
   * waits until the server has them. Call before any peer sends.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { rank, peers, job, epoch } = this.host;
    const stripes = await Stripes.open(this.transport, this.options.connections ?? 0, { name: `${this.transport.name}-${job}-e${epoch}-r${rank}`, rank });
    this.stripes = stripes;
    // Every connection must carry every frame; the servers of one cluster agree on max_payload.
    this.frameBytes = Math.min(this.options.chunkBytes, stripes.maxPayload);
    elementsPerChunk(this.frameBytes, 'float32');
    this.pool = new FramePool(this.frameBytes, Math.max(16, Math.floor(POOL_BYTES / this.frameBytes)));
    this.outbox.usePool(this.pool);
    stripes.listenChunks((stripe) => this.subjects.inbox(rank, stripe), (m) => this.guard(m, (x) => this.onChunk(x)));
    for (const peer of peers) stripes.listenChunks((stripe) => this.subjects.fanOut(peer, stripe), (m) => this.guard(m, (x) => this.onChunk(x)));
    stripes.listenControl(this.subjects.controlInbox(rank), (m) => this.guard(m, (x) => this.onControl(x)));
    stripes.listenControl(this.subjects.controlAll, (m) => this.guard(m, (x) => this.onControl(x)));
    await stripes.flush();
  }

  /** Element-wise sum over all ranks (every rank passes the same length); identical bits on every rank. */
  allReduceSum(step: number, op: string, data: Float32Array, options: AllReduceOptions = {}): Promise<Float32Array> {
    return this.call('allReduceSum', step, op, options.wireDtype ?? this.options.wireDtype, (env) => new AllReduceOp(env, data, options.inPlace ?? false));
  }

  /** Every rank's array, indexed by rank (lengths may differ). */
  allGather(step: number, op: string, data: Float32Array, options: CallOptions = {}): Promise<Float32Array[]> {
    return this.call('allGather', step, op, options.wireDtype ?? 'float32', (env) => new AllGatherOp(env, data));
  }

  /** The root's array on every rank (`data` is ignored on other ranks). */
  broadcast(step: number, op: string, data: Float32Array | null, root: number, options: CallOptions = {}): Promise<Float32Array> {
    if (!Number.isInteger(root) || root < 0 || root >= this.host.worldSize) return Promise.reject(new RangeError(`broadcast root ${root} is not a rank of ${this.host.worldSize}`));
    return this.call('broadcast', step, op, options.wireDtype ?? 'float32', (env) => new BroadcastOp(env, data, root));
  }

  /** Resolves once every rank has entered this barrier. */
  async barrier(step: number, op: string): Promise<void> {
    await this.call('barrier', step, op, 'float32', (env) => new AllGatherOp(env, new Float32Array(0)));
  }

  /** Rejects the pending call and every later one at once (e.g. the coordinator announced a new epoch). */
  abort(reason: string, code: 'COLLECTIVE_ABORTED' | 'MEMBERSHIP_CHANGED' = 'COLLECTIVE_ABORTED'): void {
    if (this.aborted) return;
    this.aborted = new CollectiveError(code, `collectives of job ${this.host.job} epoch ${this.host.epoch} aborted: ${reason}`);
    this.current?.fail(this.aborted, false);
  }

  /**
   * Aborts, unsubscribes and closes the data connections this rank opened. Call after a final
   * barrier, so peers no longer need this rank's frames. Subscriptions end at once; the promise
   * settles when the connections are closed.
   */
  close(): Promise<void> {
    this.abort('closed');
    this.outbox.clear();
    this.early.clear();
    const stripes = this.stripes;
    this.stripes = undefined;
    return stripes ? stripes.close().catch((err: unknown) => this.log.warn('closing data connections failed', { error: String(err) })) : Promise.resolve();
  }

  /** Figures of the last finished call. */
  get lastStats(): CallStats | undefined {
    return this.last;
  }

  get totals(): Readonly<CollectiveTotals> {
    return { ...this.counters };
  }

  private call<T>(kind: CollectiveKind, step: number, op: string, wire: WireDtype, make: (env: OpEnv) => OpLogic<T>): Promise<T> {
    if (!this.started) return Promise.reject(new Error('Collectives.start() must be awaited before the first call'));
    if (!isSubjectToken(op)) return Promise.reject(new RangeError(`op name "${op}" must be letters, digits, - or _`));
    if (!Number.isInteger(step) || step < 0 || step > 0xffffffff) return Promise.reject(new RangeError(`step ${step} must be an integer in [0, 2^32)`));
    if (step < this.lastStep) return Promise.reject(new RangeError(`step ${step} after step ${this.lastStep}: steps never go back within an epoch`));
    if (step > this.lastStep) this.invoked.clear();
    const key = `${step}/${op}`;
    if (this.invoked.has(key)) return Promise.reject(new RangeError(`op "${op}" was already used at step ${step}; name each call of a step differently`));
    this.invoked.add(key);
    this.lastStep = step;
    const result = this.tail.then(() => this.execute(kind, key, step, op, wire, make));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async execute<T>(kind: CollectiveKind, key: string, step: number, op: string, wire: WireDtype, make: (env: OpEnv) => OpLogic<T>): Promise<T> {
    if (this.aborted) throw this.aborted;
    const peerAbort = this.peerAborts.get(key);
    if (peerAbort) throw peerAbort;
    this.advanceTo(step);
    this.outbox.begin(key);
    let call: CollectiveCall<T> | undefined;
    try {
      call = new CollectiveCall(this.host, key, kind, step, op, wire, make);
      this.current = call as CollectiveCall<unknown>;
      const early = this.early.get(key)?.chunks ?? [];
      this.early.delete(key);
      const result = await call.run(early);
      if (call.heardFromAll) this.outbox.settle(key);
      return result;
    } catch (err) {
      if (err instanceof CollectiveError) this.counters[err.code === 'COLLECTIVE_TIMEOUT' ? 'timeouts' : 'aborts']++;
      this.log.warn('collective failed', { step, op, kind, error: (err as Error).message });
      throw err;
    } finally {
      this.current = undefined;
      this.finishedKeys.set(key, step);
      this.counters.calls++;
      if (call) this.addStats(call.stats);
    }
  }

  private addStats(stats: CallStats): void {
    this.last = stats;
    this.counters.bytesSent += stats.bytesSent;
    this.counters.bytesReceived += stats.bytesReceived;
    this.counters.retransmitRequests += stats.retransmitRequests;
    this.counters.duplicates += stats.duplicates;
  }

  /** Forgets what older steps left behind (early chunks nobody will claim, finished keys, aborts). */
  private advanceTo(step: number): void {
    if (step <= this.startedStep) return;
    this.startedStep = step;
    for (const [key, entry] of this.early) if (entry.step < step) this.early.delete(key);
    for (const [key, s] of this.finishedKeys) if (s < step - 1) this.finishedKeys.delete(key);
    for (const key of this.peerAborts.keys()) if (Number(key.split('/')[0]) < step) this.peerAborts.delete(key);
  }

  private isStale(step: number, key: string): boolean {
    return step < this.startedStep || this.finishedKeys.has(key);
  }

  private guard(message: TransportMessage, handle: (message: TransportMessage) => void): void {
    try {
      handle(message);
    } catch (err) {
      // A bug must not silently end this rank's reception; the call in flight will time out.
      this.log.error('collective message handler failed', { subject: message.subject, error: String((err as Error).stack ?? err) });
    }
  }

  private onChunk(message: TransportMessage): void {
    let header: ChunkHeader;
    try {
      header = decodeChunkHeader(message.data);
    } catch (err) {
      this.counters.droppedInvalid++;
      this.log.warn('dropped an invalid chunk', { subject: message.subject, error: (err as Error).message });
      return;
    }
    if (header.jobHash !== this.host.jobHash) return void this.counters.droppedOtherJob++;
    if (header.epoch !== this.host.epoch) return void this.counters.droppedOtherEpoch++;
    if (!this.subjects.senderIsRank(message.subject, header.sourceRank)) return this.dropForeign(message.subject, header.sourceRank);
    const op = this.subjects.opOf(message.subject);
    if (hash32(op) !== header.opHash) return void this.counters.droppedInvalid++;
    const key = `${header.step}/${op}`;
    if (this.current?.key === key) return this.current.accept(header, message.data);
    if (this.isStale(header.step, key)) return void this.counters.droppedStale++;
    const entry = this.early.get(key) ?? { step: header.step, chunks: [] };
    entry.chunks.push({ header, frame: new Uint8Array(message.data) }); // borrowed: keep a copy (never slice(): a Buffer's is a view)
    this.early.set(key, entry);
  }

  private onControl(message: TransportMessage): void {
    let control: CollectiveControl;
    try {
      control = decodeMessage<CollectiveControl>(message.data);
    } catch (err) {
      this.counters.droppedInvalid++;
      this.log.warn('dropped an invalid control message', { subject: message.subject, error: (err as Error).message });
      return;
    }
    if (control.job !== this.host.job) return void this.counters.droppedOtherJob++;
    if (control.epoch !== this.host.epoch) return void this.counters.droppedOtherEpoch++;
    const claimed = control.type === 'collective.credit' ? control.receiver : control.type === 'collective.retransmit' ? control.requester : control.rank;
    if (!this.subjects.senderIsRank(message.subject, claimed)) return this.dropForeign(message.subject, claimed);
    const key = `${control.step}/${control.op}`;
    const current = this.current?.key === key ? this.current : undefined;
    switch (control.type) {
      case 'collective.credit':
        current?.credit(control.receiver, control.receivedBytes);
        return;
      case 'collective.retransmit':
        current?.credit(control.requester, control.receivedBytes);
        this.serveRetransmit(control, key);
        return;
      case 'collective.abort':
        this.onPeerAbort(control, key, current);
        return;
    }
  }

  /** A frame or control message claims a rank whose member did not send it (a forgery, or a bug): dropped and logged. */
  private dropForeign(subject: string, claimed: number): void {
    const n = ++this.counters.droppedForeignSender;
    // Logged in powers of two, so a flood cannot fill the log.
    if ((n & (n - 1)) === 0) this.log.warn('dropped collective traffic from a sender that is not the member of the rank it claims', { subject, sender: this.subjects.senderOf(subject), claimedRank: claimed, dropped: n });
  }

  private serveRetransmit(request: RetransmitRequest, key: string): void {
    const dest = request.phase === 'gather' ? FAN_OUT : request.requester;
    const frames = this.outbox.lookupSeqs(key, streamName(request.phase, dest), request.chunks);
    if (frames.length === 0 || !this.stripes) return; // not sent yet: it will be, when this rank gets there
    // At most one flow window per request, so a recovering peer is not flooded into a slow
    // consumer; it asks again for the rest once these have arrived.
    let budget = this.host.windowBytes;
    const burst = frames.filter(({ frame }, i) => i === 0 || (budget -= frame.byteLength) >= 0);
    this.log.debug('retransmitting', { step: request.step, op: request.op, to: request.requester, phase: request.phase, frames: burst.length });
    const subject = (stripe: number | undefined) => this.subjects.toRank(request.op, request.requester, stripe);
    try {
      // Copies, on the original's stripe: pooled frame memory is published once only (frame-pool.ts).
      for (const { seq, frame } of burst) this.stripes.publish(seq, subject, new Uint8Array(frame));
      this.counters.retransmitFramesServed += burst.length;
    } catch (err) {
      this.log.warn('retransmit failed', { error: (err as Error).message });
    }
  }

  private onPeerAbort(abort: CollectiveAbort, key: string, current: CollectiveCall<unknown> | undefined): void {
    if (abort.rank === this.host.rank || this.isStale(abort.step, key)) return;
    const err = new CollectiveError('COLLECTIVE_ABORTED', `rank ${abort.rank} gave up on step ${abort.step} op "${abort.op}" (${abort.code}): ${abort.reason}`);
    if (current) current.fail(err, false);
    else this.peerAborts.set(key, err);
  }

  private sendControl(dest: number | 'all', message: CollectiveControl): void {
    const subject = dest === 'all' ? this.subjects.abortsOut : this.subjects.controlTo(dest);
    try {
      (this.stripes?.control ?? this.transport).publish(subject, encodeMessage(message));
    } catch (err) {
      this.log.warn('control message not sent', { type: message.type, error: (err as Error).message });
    }
  }
}
