/**
 * @module worker/epoch-runner
 * Runs one membership epoch on one rank, top to bottom:
 *
 * 1. collectives for (job, epoch, rank, W); subscribe, then a barrier so nobody sends too early;
 * 2. state sync: rank 0 takes the state the coordinator named (fresh, a checkpoint on shared
 *    storage, or its snapshot of the last committed step) and broadcasts params ‖ m ‖ v; every
 *    rank adopts it with the cursor (step, optimizer step, shard cursors) from the assignment;
 * 3. steps until the run ends or a pause: each step draws the global batch from the replicated
 *    shard state, runs the exact distributed step, snapshots, reports to the coordinator, checks
 *    replica checksums now and then; rank 0 writes checkpoints;
 * 4. pause: the stop/resize/leave flags ride along with each step's all-reduce, so every rank
 *    sees them summed at the same step and stops there together (rank 0 checkpoints on stop).
 *
 * A CollectiveError (peer lost, deadline, new epoch) ends the epoch as a fault; the coordinator
 * then forms a new epoch, rolling back to the last committed step.
 */
import { join } from 'node:path';
import { FsCheckpointStore } from '../checkpoint/fs-store.js';
import { decodeTrainingCheckpoint } from '../checkpoint/training-checkpoint.js';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import { VirtualShards } from '../data/shards.js';
import { Collectives, CollectiveTimeoutError } from '../collectives/collectives.js';
import { collectivesOptions } from '../collectives/options.js';
import type { AssignMessage, TrainCursor, WorkerEvent } from '../protocol/messages.js';
import type { Transport } from '../transport/transport.js';
import { CollectiveError } from '../errors.js';
import type { Logger } from '../log.js';
import { metricsLine, saveCheckpoint } from '../train/checkpointing.js';
import { checksum } from '../train/flat.js';
import { runPaths } from '../train/run-dir.js';
import type { TrainingSession } from '../train/session.js';
import { CollectivesComm } from './comm-adapter.js';
import type { EventSender } from './event-sender.js';
import { packState, SnapshotRing, unpackState, type Snapshot } from './snapshots.js';

/** Signal slots summed with every step's gradients. */
export const SIGNAL_STOP = 0;
export const SIGNAL_RESIZE = 1;
export const SIGNAL_LEAVE = 2;

/** Flags set from outside while an epoch runs (coordinator messages, SIGTERM). */
export interface EpochFlags {
  stop: boolean;
  resize: boolean;
  leave: boolean;
  /** Set when a newer assignment or a shutdown arrived: abandon this epoch at once. */
  superseded: boolean;
}

export type EpochOutcome = 'paused' | 'finished' | 'fault' | 'superseded';

export interface EpochContext {
  transport: Transport;
  session: TrainingSession;
  config: Frozen<InstructueConfig>;
  assign: AssignMessage;
  workerId: string;
  events: EventSender;
  snapshots: SnapshotRing;
  flags: EpochFlags;
  log: Logger;
}

export class EpochRunner {
  readonly collectives: Collectives;
  private readonly comm: CollectivesComm;
  private readonly rank: number;
  private readonly world: number;

  constructor(private readonly ctx: EpochContext) {
    const { assign, config, transport, log } = ctx;
    this.rank = assign.rank;
    this.world = assign.members.length;
    this.collectives = new Collectives(transport, collectivesOptions(config.dist, { epoch: assign.epoch, rank: this.rank, worldSize: this.world }, log));
    this.comm = new CollectivesComm(this.collectives, this.rank, this.world);
  }

  private report(event: WorkerEvent): void {
    this.ctx.events.send(event);
  }

  async run(): Promise<EpochOutcome> {
    const { assign, flags, log } = this.ctx;
    try {
      await this.collectives.start();
      await this.collectives.barrier(0, 'epoch_start');
      await this.syncState();
      return await this.steps();
    } catch (err) {
      if (flags.superseded) return 'superseded';
      if (!(err instanceof CollectiveError)) throw err;
      log.warn('epoch failed', { code: err.code, error: err.message });
      const silentRanks = err instanceof CollectiveTimeoutError ? err.silentRanks : [];
      this.report({ type: 'fault', workerId: this.ctx.workerId, epoch: assign.epoch, step: this.ctx.session.stepper.step, code: err.code, message: err.message, silentRanks });
      return 'fault';
    }
  }

  /** Rank 0's state → everyone (also resets replicas that drifted). */
  private async syncState(): Promise<void> {
    const { session, assign, snapshots } = this.ctx;
    const cursor = await this.startCursor();
    let payload: Float32Array | null = null;
    if (this.rank === 0) payload = packState(await this.rootState(cursor));
    const state = unpackState(await this.collectives.broadcast(0, 'state', payload, 0), cursor);
    session.stepper.comm = this.comm;
    session.stepper.fromState({ optimizer: { step: cursor.optimizerStep, m: state.m, v: state.v } }, state.params);
    session.shards = VirtualShards.fromState(cursor.shards);
    snapshots.put(state);
    this.ctx.log.info('epoch started', { epoch: assign.epoch, rank: this.rank, world: this.world, step: cursor.step, start: assign.start.kind });
  }

  private async startCursor(): Promise<TrainCursor> {
    const start = this.ctx.assign.start;
    if (start.kind !== 'fresh') return start.cursor;
    return { step: 0, optimizerStep: 0, shards: new VirtualShards({ numSamples: this.ctx.session.dataset.size, virtualShards: this.ctx.config.data.virtual_shards, seed: this.ctx.config.seed }).toState() };
  }

  private async rootState(cursor: TrainCursor): Promise<Snapshot> {
    const { session, assign, snapshots, config } = this.ctx;
    const start = assign.start;
    if (start.kind === 'checkpoint') {
      const store = new FsCheckpointStore(join(start.path, '..'), config.train.keep_last);
      const loaded = await store.load(start.cursor.step);
      const ckpt = decodeTrainingCheckpoint(session.stepper.layout, loaded.files, loaded.location);
      return { cursor, params: ckpt.params, m: ckpt.optimizer.m, v: ckpt.optimizer.v };
    }
    // 'fresh' is the seeded initial state every worker keeps as its step-0 snapshot.
    const snap = snapshots.get(cursor.step);
    if (!snap) throw new CollectiveError('COLLECTIVE_ABORTED', `rank 0 holds no snapshot of step ${cursor.step} (has ${snapshots.steps().join(', ') || 'none'})`);
    return { ...snap, cursor };
  }

  private async steps(): Promise<EpochOutcome> {
    const { session, config, assign, flags, workerId } = this.ctx;
    const total = config.train.steps;
    const store = new FsCheckpointStore(runPaths(assign.assignment.runDir).checkpoints, config.train.keep_last);
    while (session.stepper.step < total) {
      if (flags.superseded) return 'superseded';
      const started = performance.now();
      this.comm.waitMs = 0;
      const batch = session.shards.next(config.train.global_batch, this.world);
      const local = await session.encode(batch.perRank[this.rank]!);
      const signals = Float32Array.of(flags.stop ? 1 : 0, flags.resize ? 1 : 0, flags.leave ? 1 : 0);
      const result = await session.stepper.run(local, signals);
      const elapsed = performance.now() - started;
      const step = result.step;
      const cursor: TrainCursor = { step, optimizerStep: session.stepper.toState().optimizer.step, shards: session.shards.toState() };
      const opt = session.stepper.toState().optimizer;
      this.ctx.snapshots.put({ cursor, params: session.stepper.parameters.slice(), m: opt.m, v: opt.v });
      const metrics = this.rank === 0 ? metricsLine(result, batch.epoch, elapsed, this.world) : null;
      this.report({
        type: 'step.done', workerId, epoch: assign.epoch, rank: this.rank, step, dataEpoch: batch.epoch,
        ids: batch.perRank[this.rank]!.map((i) => session.dataset.id(i)), metrics, cursor: this.rank === 0 ? cursor : null,
        computeMs: elapsed - this.comm.waitMs, waitMs: this.comm.waitMs,
      });
      await this.checkReplicas(step);
      const stopping = result.signals[SIGNAL_STOP]! > 0;
      const pausing = stopping || result.signals[SIGNAL_RESIZE]! > 0 || result.signals[SIGNAL_LEAVE]! > 0;
      const every = config.train.checkpoint_every;
      if (this.rank === 0 && ((every > 0 && step % every === 0) || step === total || stopping)) {
        const path = await saveCheckpoint({ store, stepper: session.stepper, shards: session.shards.toState(), config, worldSize: this.world, metrics });
        this.report({ type: 'checkpoint.saved', workerId, epoch: assign.epoch, step, path });
      }
      if (pausing && step < total) {
        this.report({ type: 'paused', workerId, epoch: assign.epoch, step, leaving: flags.leave });
        return 'paused';
      }
    }
    this.report({ type: 'finished', workerId, epoch: assign.epoch, step: session.stepper.step });
    return 'finished';
  }

  /** Every `checksum_every` steps: all ranks compare a fingerprint of their weights. */
  private async checkReplicas(step: number): Promise<void> {
    const every = this.ctx.config.dist.checksum_every;
    if (every <= 0 || step % every !== 0 || this.world === 1) return;
    const sum = checksum(this.ctx.session.stepper.parameters);
    // Two 16-bit halves: float32 holds them exactly.
    const all = await this.collectives.allGather(step, 'checksum', Float32Array.of(sum >>> 16, sum & 0xffff));
    const mismatched = all.map((a) => a[0]! * 65536 + a[1]!).map((s, r) => (s === sum ? -1 : r)).filter((r) => r >= 0);
    if (mismatched.length > 0) {
      throw new CollectiveError('COLLECTIVE_ABORTED', `replica checksum mismatch at step ${step}: ranks ${mismatched.join(', ')} differ from rank ${this.rank}; the coordinator will resync from rank 0`);
    }
  }

  close(): void {
    this.collectives.close();
  }
}
