/**
 * @module worker/epoch-runner
 * Runs one membership epoch on one rank, top to bottom:
 *
 * 1. collectives for (job, epoch, rank, W); subscribe, then a barrier so nobody sends too early;
 * 2. state sync: rank 0 takes the state the coordinator named (fresh, a checkpoint on shared
 *    storage, or its snapshot of the last committed step) and broadcasts params ‖ m ‖ v; every
 *    rank adopts it with the cursor (step, shard cursors) from the assignment;
 * 3. the training loop (src/train/train-loop.ts) with this rank's hooks: after each step a
 *    snapshot, a report to the coordinator and, now and then, a replica checksum; rank 0 owns
 *    the checkpointer;
 * 4. pause: the stop/resize/leave flags ride along with each step's all-reduce
 *    (src/worker/pause-signals.ts), so every rank stops at the same step (rank 0 checkpoints on
 *    a stop).
 *
 * A CollectiveError (peer lost, deadline, new epoch) ends the epoch as a fault; the coordinator
 * then forms a new epoch, rolling back to the last committed step.
 */
import { Collectives, CollectiveTimeoutError } from '../collectives/collectives.js';
import { collectivesOptions } from '../collectives/options.js';
import type { Frozen } from '../config/load.js';
import type { WorkerConfig } from '../config/worker-config.js';
import { CollectiveError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AssignMessage, CollectiveCounts, WorkerEvent } from '../protocol/messages.js';
import type { Transport } from '../transport/transport.js';
import { decodeCheckpoint, parseCheckpointMeta } from '../train/checkpoint.js';
import { Checkpointer } from '../train/checkpointer.js';
import { checksum } from '../train/flat.js';
import type { TrainingSession } from '../train/session.js';
import { trainLoop, type StepDone } from '../train/train-loop.js';
import { packState, unpackState, type TrainCursor, type TrainState } from '../train/train-state.js';
import { CollectivesComm } from './comm-adapter.js';
import type { EventSender } from './event-sender.js';
import { decodeSignals, encodeSignals, type PauseFlags } from './pause-signals.js';
import type { SnapshotRing } from './snapshots.js';

/** Flags set from outside while an epoch runs (coordinator messages, SIGTERM). */
export interface EpochFlags extends PauseFlags {
  /** Set when a newer assignment or a shutdown arrived: abandon this epoch at once. */
  superseded: boolean;
}

export type EpochOutcome = 'paused' | 'finished' | 'fault' | 'superseded';

export interface EpochContext {
  transport: Transport;
  session: TrainingSession;
  config: Frozen<WorkerConfig>;
  assign: AssignMessage;
  workerId: string;
  events: EventSender;
  snapshots: SnapshotRing;
  flags: EpochFlags;
  log: Logger;
  /** The process's collective counts of its earlier epochs; this epoch's are added when it closes. */
  collectiveCounts: CollectiveCounts;
}

export class EpochRunner {
  readonly collectives: Collectives;
  private readonly comm: CollectivesComm;
  private readonly rank: number;
  private readonly world: number;
  private counted = false;

  constructor(private readonly ctx: EpochContext) {
    const { assign, config, transport, log } = ctx;
    this.rank = assign.rank;
    this.world = assign.members.length;
    this.collectives = new Collectives(transport, collectivesOptions(config.dist, { epoch: assign.epoch, rank: this.rank, worldSize: this.world, members: assign.members }, log));
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
    const cursor = assign.start.kind === 'fresh' ? session.initialState().cursor : assign.start.cursor;
    const payload = this.rank === 0 ? packState(await this.rootState(cursor)) : null;
    const state = unpackState(await this.collectives.broadcast(0, 'state', payload, 0), cursor);
    session.load(state);
    snapshots.put(state);
    this.ctx.log.info('epoch started', { epoch: assign.epoch, rank: this.rank, world: this.world, step: cursor.step, start: assign.start.kind });
  }

  /** The state rank 0 broadcasts at the epoch's start. */
  private async rootState(cursor: TrainCursor): Promise<TrainState> {
    const { session, assign, snapshots } = this.ctx;
    const start = assign.start;
    if (start.kind === 'fresh') return session.initialState();
    if (start.kind === 'checkpoint') {
      // The coordinator chose this checkpoint and checked its run identity.
      const loaded = await session.checkpoints.load(start.cursor.step);
      return decodeCheckpoint(session.stepper.layout, loaded, parseCheckpointMeta(loaded));
    }
    const snap = snapshots.get(cursor.step);
    if (!snap) throw new CollectiveError('COLLECTIVE_ABORTED', `rank 0 holds no snapshot of step ${cursor.step} (has ${snapshots.steps().join(', ') || 'none'})`);
    return { ...snap, cursor };
  }

  private async steps(): Promise<EpochOutcome> {
    const { session, assign, flags, workerId } = this.ctx;
    const checkpointer = this.rank === 0
      ? new Checkpointer(session, {
        worldSize: this.world, log: this.ctx.log,
        onSaved: (cursor, path, { bytes, saveMs }) => this.report({ type: 'checkpoint.saved', workerId, epoch: assign.epoch, step: cursor.step, path, cursor, bytes, saveMs }),
      })
      : null;
    const outcome = await trainLoop(session, checkpointer, {
      comm: this.comm,
      signals: () => encodeSignals(flags),
      abandoned: () => flags.superseded,
      afterStep: (done) => this.afterStep(done),
      stopAfter: (done) => {
        const asked = decodeSignals(done.result.signals);
        return { stop: asked.stop || asked.resize || asked.leave, checkpoint: asked.stop };
      },
    });
    const step = session.stepper.step;
    if (outcome.kind === 'abandoned') return 'superseded';
    if (outcome.kind === 'stopped') {
      this.report({ type: 'paused', workerId, epoch: assign.epoch, step, leaving: flags.leave });
      return 'paused';
    }
    this.report({ type: 'finished', workerId, epoch: assign.epoch, step });
    return 'finished';
  }

  /** Snapshot, report, replica check: what a rank does after each step. */
  private async afterStep(done: StepDone): Promise<void> {
    const { session, assign, workerId, snapshots } = this.ctx;
    const state = session.state();
    snapshots.put(state);
    const waitMs = this.comm.waitMs;
    this.report({
      type: 'step.done', workerId, epoch: assign.epoch, rank: this.rank, step: done.result.step, dataEpoch: done.dataEpoch,
      ids: done.ids, metrics: this.rank === 0 ? done.metrics : null, cursor: this.rank === 0 ? state.cursor : null,
      computeMs: done.elapsedMs - waitMs, waitMs, tokens: done.result.tokens, collectives: this.collectiveCounts(),
    });
    await this.checkReplicas(done.result.step);
    this.comm.waitMs = 0;
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

  /** The process's collective counts so far: earlier epochs' plus this one's. */
  private collectiveCounts(): CollectiveCounts {
    const before = this.ctx.collectiveCounts;
    const now = this.collectives.totals;
    return {
      retransmitRequests: before.retransmitRequests + now.retransmitRequests, timeouts: before.timeouts + now.timeouts, aborts: before.aborts + now.aborts,
      bytesSent: before.bytesSent + now.bytesSent, bytesReceived: before.bytesReceived + now.bytesReceived,
    };
  }

  close(): void {
    this.collectives.close();
    // Once: the agent closes a runner both when its epoch ends and before the next one starts.
    if (!this.counted) Object.assign(this.ctx.collectiveCounts, this.collectiveCounts());
    this.counted = true;
  }
}
