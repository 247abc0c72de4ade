/**
 * @module worker/worker-agent
 * One worker process, as a small declared lifecycle:
 *
 *   joining ──join.ok──▶ idle ──assign──▶ training ──epoch ends──▶ idle
 *      ▲                   │                  │
 *      └──── dropped, new coordinator, coordinator silent ────┘        leaving ──▶ done
 *
 * - joining: ask the coordinator to be let in, retrying while it is not there (or while our id is
 *   still held by a dead process of the same name); a refusal for good ends the worker.
 * - training: run one membership epoch as a rank (src/worker/epoch-runner.ts).
 * - Every answer from the coordinator says where this worker stands: dropped (it was silent too
 *   long) → abandon the epoch, discard uncommitted work, join again; released or job over → exit.
 *   A coordinator silent past `dist.worker_timeout_ms` → pause (abandon the epoch without a
 *   checkpoint) and join again once it answers.
 * - SIGTERM = leave at the next step boundary (every rank pauses at the same step).
 * The worker holds no config of its own: it builds its training session from the assignment.
 */
import { hostname } from 'node:os';
import type { Logger } from '../log.js';
import { ask, listen } from '../protocol/channel.js';
import { jobSubjects } from '../protocol/job-subjects.js';
import type { AssignMessage, CoordinatorBroadcast, EventAck, JoinReply, WorkerDirect } from '../protocol/messages.js';
import type { NatsClientSettings } from '../transport/nats-credentials.js';
import type { Transport } from '../transport/transport.js';
import { TransportError } from '../transport/transport.js';
import { loadWorkerConfig } from '../config/worker-config.js';
import { checkMemory } from '../train/preflight.js';
import { TrainingSession } from '../train/session.js';
import { EpochRunner, type EpochFlags } from './epoch-runner.js';
import { EventSender } from './event-sender.js';
import { Heartbeat } from './heartbeat.js';
import { Mailbox } from './mailbox.js';
import { SnapshotRing } from './snapshots.js';

export type WorkerLifecycle = 'joining' | 'idle' | 'training' | 'leaving' | 'done';

export interface WorkerAgentOptions {
  job: string;
  workerId: string;
  /** Overrides the assignment's backend (e.g. a GPU pod forcing tensorflow). */
  backend?: string;
  /** The NATS server and credentials of the heartbeat thread's own connection. */
  natsUrl: string;
  settings: NatsClientSettings;
  log: Logger;
}

export class WorkerAgent {
  private readonly subjects;
  private readonly mailbox = new Mailbox();
  private readonly flags: EpochFlags = { stop: false, resize: false, leave: false, superseded: false };
  private readonly snapshots = new SnapshotRing();
  /** Collective counts of this process's finished epochs (reported, cumulative, with every step). */
  private readonly collectiveCounts = { retransmitRequests: 0, timeouts: 0, aborts: 0, bytesSent: 0, bytesReceived: 0 };
  private state: WorkerLifecycle = 'joining';
  private session: TrainingSession | null = null;
  private sessionKey = '';
  private runner: EpochRunner | null = null;
  private incarnation = '';
  private epoch = 0;
  private heartbeat: Heartbeat | null = null;
  private silenceTimer: NodeJS.Timeout | null = null;
  private workerTimeoutMs = 0;
  /** When the last join was answered: verdicts on requests sent before it are stale. */
  private joinedAt = 0;
  /** When a request answered on this thread (events, joins) was sent. */
  private lastAnswerSent = 0;
  private events!: EventSender;
  private closed = false;
  private readonly stops: Array<() => void> = [];

  constructor(private readonly transport: Transport, private readonly opts: WorkerAgentOptions) {
    this.subjects = jobSubjects(opts.job);
  }

  get lifecycle(): WorkerLifecycle {
    return this.state;
  }

  /** SIGTERM: finish the current step with every rank, then leave the job. */
  leave(): void {
    this.flags.leave = true;
    if (this.state !== 'training') this.mailbox.shutdown('leaving (SIGTERM) while not training');
  }

  async run(): Promise<number> {
    const { log } = this.opts;
    this.stops.push(listen<WorkerDirect>(this.transport, this.subjects.worker(this.opts.workerId), log, (m) => this.onDirect(m)));
    this.stops.push(listen<CoordinatorBroadcast>(this.transport, this.subjects.all, log, (m) => this.onBroadcast(m)));
    await this.transport.flush();
    this.events = new EventSender(this.transport, this.subjects.events(this.opts.workerId), () => this.epoch, (ack, sentAt) => this.onAck(ack, sentAt), log);
    void this.join();
    try {
      for (;;) {
        const next = await this.mailbox.next();
        if (next.kind === 'shutdown') {
          log.info('shutting down', { reason: next.reason });
          return 0;
        }
        const outcome = await this.runEpoch(next.message);
        log.info('epoch ended', { epoch: next.message.epoch, outcome });
        if (outcome === 'paused' && this.flags.leave) {
          this.state = 'leaving';
          return 0;
        }
        if (this.state === 'training') this.state = 'idle';
      }
    } finally {
      this.state = 'done';
      await this.close();
    }
  }

  private async runEpoch(assign: AssignMessage) {
    this.runner?.close();
    Object.assign(this.flags, { superseded: false, stop: false, resize: false });
    const session = await this.sessionFor(assign);
    // Work after the epoch's starting step was never committed: it is recomputed, not reused.
    if (assign.start.kind !== 'fresh') this.snapshots.dropAbove(assign.start.cursor.step);
    const runner = new EpochRunner({
      transport: this.transport, session, config: session.config, assign, workerId: this.opts.workerId,
      events: this.events, snapshots: this.snapshots, flags: this.flags, log: this.opts.log.child({ epoch: assign.epoch, rank: assign.rank }),
      collectiveCounts: this.collectiveCounts,
    });
    this.runner = runner;
    this.state = 'training';
    try {
      return await runner.run();
    } finally {
      runner.close();
      this.runner = null;
      await this.events.flushed();
    }
  }

  private async close(): Promise<void> {
    this.closed = true;
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.events?.close();
    for (const stop of this.stops) stop();
    await this.heartbeat?.stop();
    await this.session?.close();
  }

  /** Joins, retrying while the coordinator is not up (or our id is still held); then heartbeats. */
  private async join(): Promise<void> {
    const { log, workerId } = this.opts;
    this.state = 'joining';
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const reply = await ask<JoinReply>(this.transport, this.subjects.join(workerId), { type: 'join', workerId, host: hostname(), pid: process.pid, backend: this.opts.backend ?? '' }, 5000);
        if (reply.type === 'join.refused') {
          if (!reply.retryable) {
            log.warn('the coordinator refused this worker', { reason: reply.reason });
            this.mailbox.shutdown(`refused: ${reply.reason}`);
            return;
          }
          if (attempt % 10 === 0) log.warn('join refused for now; retrying', { reason: reply.reason });
          await sleep(1000);
          continue;
        }
        this.incarnation = reply.incarnation;
        this.workerTimeoutMs = reply.workerTimeoutMs;
        this.joinedAt = Date.now();
        this.startHeartbeat(reply.heartbeatMs);
        if (this.state === 'joining') this.state = 'idle';
        log.info('joined', { incarnation: reply.incarnation });
        return;
      } catch (err) {
        const retriable = err instanceof TransportError && (err.code === 'NO_RESPONDERS' || err.code === 'TIMEOUT' || err.code === 'DISCONNECTED');
        if (!retriable) throw err;
        if (attempt % 10 === 0) log.info('waiting for the coordinator', { reason: err.code });
        await sleep(500);
      }
    }
  }

  /** Leaves the current epoch and joins again (dropped, a new coordinator, or the coordinator went silent). */
  private rejoin(why: string): void {
    if (this.state === 'joining' || this.closed) return;
    this.opts.log.warn('re-joining the job', { why });
    this.supersede(why);
    void this.join();
  }

  private startHeartbeat(intervalMs: number): void {
    if (this.heartbeat) return;
    const { natsUrl, settings, workerId, log } = this.opts;
    this.heartbeat = new Heartbeat({ natsUrl, settings, subject: this.subjects.events(workerId), workerId, intervalMs, log, onAck: (ack, sentAt) => this.onAck(ack, sentAt) });
    this.silenceTimer = setInterval(() => {
      this.heartbeat!.update(this.epoch, this.session?.stepper.step ?? 0, this.session?.backend ?? '');
      // Silence is judged by the newest answer on any channel, the heartbeat thread's included.
      const silentFor = Date.now() - Math.max(this.heartbeat!.lastAnswerAt(), this.lastAnswerSent, this.joinedAt);
      if (this.state === 'training' && this.workerTimeoutMs > 0 && silentFor > this.workerTimeoutMs) {
        this.rejoin(`no answer from the coordinator for ${silentFor} ms: pausing without a checkpoint until it is back`);
      }
    }, intervalMs);
    this.silenceTimer.unref();
  }

  private onDirect(m: WorkerDirect): void {
    if (m.type === 'release') {
      this.supersede(m.reason);
      this.mailbox.shutdown(m.reason);
      return;
    }
    // Epochs only grow (a restarted coordinator continues from its KV record); the assignment
    // may even arrive before the join reply is processed, so the incarnation is not checked here.
    if (m.epoch <= this.epoch) return;
    this.incarnation = m.incarnation;
    this.epoch = m.epoch;
    if (this.state === 'joining') this.state = 'idle';
    this.supersede('a new membership epoch was assigned');
    this.mailbox.assign(m);
  }

  private onBroadcast(m: CoordinatorBroadcast): void {
    switch (m.type) {
      case 'committed':
        this.snapshots.pruneBefore(m.step);
        return;
      case 'pause':
        if (m.epoch === this.epoch) this.flags[m.reason === 'stop' ? 'stop' : 'resize'] = true;
        return;
      case 'shutdown':
        this.supersede('the job is shutting down');
        this.mailbox.shutdown(m.reason);
        return;
      case 'coordinator.hello':
        if (m.incarnation !== this.incarnation) this.newCoordinator(m.incarnation);
        return;
    }
  }

  /** Every answer from the coordinator says whether the job is over and whether we are still in it. */
  private onAck(ack: EventAck, sentAt: number): void {
    this.lastAnswerSent = Math.max(this.lastAnswerSent, sentAt);
    if (ack.jobOver || ack.release) {
      this.supersede(ack.jobOver ? 'the job is over' : 'released');
      this.mailbox.shutdown(ack.jobOver ? 'job over' : 'released by a scale-down');
    } else if (this.incarnation && ack.incarnation !== this.incarnation) {
      this.newCoordinator(ack.incarnation);
    } else if (ack.rejoin && sentAt >= this.joinedAt) {
      this.rejoin('the coordinator dropped this worker (silent past dist.worker_timeout_ms)');
    }
  }

  /** A restarted coordinator: its epochs may start over, so forget ours and join it. */
  private newCoordinator(incarnation: string): void {
    this.opts.log.warn('a new coordinator took over; re-joining', { incarnation });
    this.epoch = 0;
    this.incarnation = incarnation;
    this.rejoin('a new coordinator took over');
  }

  /** Ends the running epoch now, even inside a collective that waits for a lost peer. */
  private supersede(reason: string): void {
    this.flags.superseded = true;
    this.runner?.collectives.abort(reason, 'MEMBERSHIP_CHANGED');
  }

  /** The training session for an assignment (built once; rebuilt only if the config or run folder changed). */
  private async sessionFor(assign: AssignMessage): Promise<TrainingSession> {
    const { config, runDir } = assign.assignment;
    const key = JSON.stringify({ config, runDir });
    if (this.session && key === this.sessionKey) return this.session;
    await this.session?.close();
    const workerConfig = loadWorkerConfig(config, this.opts.backend);
    // A worker pod (Kubernetes) has no launcher that checked its memory: one process, one rank.
    await checkMemory(workerConfig, { processes: 1, worldSize: 1, log: this.opts.log });
    this.session = await TrainingSession.create(workerConfig, { runDir, log: this.opts.log });
    this.sessionKey = key;
    return this.session;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
