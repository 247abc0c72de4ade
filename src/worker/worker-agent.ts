/**
 * @module worker/worker-agent
 * One worker process: join the job through the coordinator, heartbeat, and run each membership
 * epoch it is assigned (src/worker/epoch-runner.ts) until the coordinator shuts the job down.
 * The worker holds no config of its own: it builds its training session from the derived
 * assignment of its first epoch. SIGTERM = leave gracefully at the next step boundary (every
 * rank pauses at the same step, the coordinator re-forms the epoch without this worker).
 */
import { hostname } from 'node:os';
import { ask, listen } from '../protocol/channel.js';
import { jobSubjects } from '../protocol/job-subjects.js';
import { loadWorkerConfig } from '../config/worker-config.js';
import type { AssignMessage, CoordinatorBroadcast, EventAck, JoinReply, WorkerDirect } from '../protocol/messages.js';
import type { Transport } from '../transport/transport.js';
import { TransportError } from '../transport/transport.js';
import type { Logger } from '../log.js';
import { TrainingSession } from '../train/session.js';
import { EpochRunner, type EpochFlags } from './epoch-runner.js';
import { EventSender } from './event-sender.js';
import { SnapshotRing } from './snapshots.js';

export interface WorkerAgentOptions {
  job: string;
  workerId: string;
  /** Overrides the assignment's backend (e.g. a GPU pod forcing tensorflow). */
  backend?: string;
  log: Logger;
}

type Inbox = { kind: 'assign'; message: AssignMessage } | { kind: 'shutdown'; reason: string };

export class WorkerAgent {
  private readonly subjects;
  private readonly inbox: Inbox[] = [];
  private wake: (() => void) | null = null;
  private readonly flags: EpochFlags = { stop: false, resize: false, leave: false, superseded: false };
  private readonly snapshots = new SnapshotRing();
  private session: TrainingSession | null = null;
  private runner: EpochRunner | null = null;
  private sessionKey = '';
  private incarnation = '';
  private epoch = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private training = false;
  private events!: EventSender;
  private readonly stops: Array<() => void> = [];

  constructor(private readonly transport: Transport, private readonly opts: WorkerAgentOptions) {
    this.subjects = jobSubjects(opts.job);
  }

  /** SIGTERM: finish the current step with every rank, then leave the job. */
  leave(): void {
    this.flags.leave = true;
    if (!this.training) this.push({ kind: 'shutdown', reason: 'leaving (SIGTERM) while not training' });
  }

  async run(): Promise<number> {
    const { log } = this.opts;
    this.stops.push(listen<WorkerDirect>(this.transport, this.subjects.worker(this.opts.workerId), log, (m) => this.onDirect(m)));
    this.stops.push(listen<CoordinatorBroadcast>(this.transport, this.subjects.all, log, (m) => this.onBroadcast(m)));
    await this.transport.flush();
    this.events = new EventSender(this.transport, this.subjects.events, () => this.epoch, (ack) => this.onAck(ack), log);
    await this.join();
    try {
      for (;;) {
        const next = await this.nextMessage();
        if (next.kind === 'shutdown') {
          log.info('shutting down', { reason: next.reason });
          return 0;
        }
        this.runner?.close();
        this.runner = null;
        const assign = next.message;
        this.flags.superseded = false;
        this.flags.stop = false;
        this.flags.resize = false;
        const session = await this.sessionFor(assign);
        const runner = new EpochRunner({
          transport: this.transport, session, config: session.config, assign, workerId: this.opts.workerId,
          events: this.events, snapshots: this.snapshots, flags: this.flags, log: log.child({ epoch: assign.epoch, rank: assign.rank }),
        });
        this.runner = runner;
        this.training = true;
        const outcome = await runner.run().finally(() => (this.training = false));
        await this.events.flushed();
        log.info('epoch ended', { epoch: assign.epoch, outcome });
        if (outcome === 'paused' && this.flags.leave) return 0;
      }
    } finally {
      this.runner?.close();
      this.close();
    }
  }

  private close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.events?.close();
    for (const stop of this.stops) stop();
    void this.session?.close();
  }

  /** Joins (retrying while the coordinator is not up), then heartbeats. */
  private async join(): Promise<void> {
    const { log, workerId } = this.opts;
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await ask<JoinReply>(this.transport, this.subjects.join, { type: 'join', workerId, host: hostname(), pid: process.pid, backend: this.opts.backend ?? '' }, 5000);
        if (reply.type === 'join.refused') throw new Error(`the coordinator refused this worker: ${reply.reason}`);
        this.incarnation = reply.incarnation;
        if (this.heartbeat) clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => {
          const beat = { type: 'heartbeat' as const, workerId, epoch: this.epoch, step: this.session?.stepper.step ?? 0, backend: this.session?.backend ?? '' };
          ask<EventAck>(this.transport, this.subjects.events, beat, reply.heartbeatMs).then((ack) => this.onAck(ack), () => {});
        }, reply.heartbeatMs);
        this.heartbeat.unref();
        log.info('joined', { incarnation: reply.incarnation });
        return;
      } catch (err) {
        const retriable = err instanceof TransportError && (err.code === 'NO_RESPONDERS' || err.code === 'TIMEOUT' || err.code === 'DISCONNECTED');
        if (!retriable) throw err;
        if (attempt % 10 === 0) log.info('waiting for the coordinator', { reason: err.code });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private onDirect(m: WorkerDirect): void {
    if (m.type === 'release') {
      this.supersede(m.reason);
      this.push({ kind: 'shutdown', reason: m.reason });
      return;
    }
    // Epochs only grow (a restarted coordinator continues from its KV record); the assignment
    // may even arrive before the join reply is processed, so the incarnation is not checked here.
    if (m.epoch <= this.epoch) return;
    this.incarnation = m.incarnation;
    this.epoch = m.epoch;
    this.supersede('a new membership epoch was assigned');
    this.push({ kind: 'assign', message: m });
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
        this.push({ kind: 'shutdown', reason: m.reason });
        return;
      case 'coordinator.hello':
        if (m.incarnation !== this.incarnation) {
          // A restarted coordinator: drop the current epoch and join it.
          this.opts.log.warn('a new coordinator took over; re-joining', { incarnation: m.incarnation });
          this.supersede('a new coordinator took over');
          this.epoch = 0;
          void this.join();
        }
        return;
    }
  }

  /** Every answer from the coordinator says whether the job is over and who coordinates it. */
  private onAck(ack: EventAck): void {
    if (ack.jobOver) {
      this.supersede('the job is over');
      this.push({ kind: 'shutdown', reason: 'job over' });
    } else if (this.incarnation && ack.incarnation !== this.incarnation) {
      this.onBroadcast({ type: 'coordinator.hello', incarnation: ack.incarnation });
    }
  }

  /** Ends the running epoch now, even inside a collective that waits for a lost peer. */
  private supersede(reason: string): void {
    this.flags.superseded = true;
    this.runner?.collectives.abort(reason, 'MEMBERSHIP_CHANGED');
  }

  private push(item: Inbox): void {
    // A newer assignment replaces an older one nobody started yet.
    if (item.kind === 'assign') for (let i = this.inbox.length - 1; i >= 0; i--) if (this.inbox[i]!.kind === 'assign') this.inbox.splice(i, 1);
    this.inbox.push(item);
    this.wake?.();
  }

  private async nextMessage(): Promise<Inbox> {
    while (this.inbox.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = null;
    const shutdown = this.inbox.find((m) => m.kind === 'shutdown');
    if (shutdown) return shutdown;
    return this.inbox.shift()!;
  }

  /** The training session for an assignment (built once; rebuilt only if the config or run folder changed). */
  private async sessionFor(assign: AssignMessage): Promise<TrainingSession> {
    const { config, runDir } = assign.assignment;
    const key = JSON.stringify({ config, runDir });
    if (this.session && key === this.sessionKey) return this.session;
    await this.session?.close();
    this.session = await TrainingSession.create(loadWorkerConfig(config, this.opts.backend), { runDir, log: this.opts.log });
    this.sessionKey = key;
    return this.session;
  }
}
