/**
 * @module coordinator/coordinator
 * The job's coordinator as a process part: it turns what arrives (joins, worker events,
 * heartbeat ticks, control requests) into `MembershipEvent`s, lets `membership.ts` decide, and
 * carries out the actions — messages to workers, the run folder's logs, the job record in KV,
 * the status stream — and hands every decision to the job's metrics (`job-metrics.ts`, rendered
 * on `/metrics`). It is not in the data path: workers step on their own, exchanging
 * gradients with each other.
 *
 * Every worker event is a request and gets an answer saying whether the job is over, whether
 * the worker is still a member (a dropped one re-joins) and whether it was released.
 * Restart: a KV record of an unfinished job makes a new coordinator resume from the newest valid
 * checkpoint whose steps were all committed, with a newer epoch so old traffic is dropped.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { stepName } from '../checkpoint/store.js';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import { workerConfigOf } from '../config/worker-config.js';
import type { MetricFamily } from '../control/metrics-registry.js';
import type { ControlReply, ControlRequest, JobStatus, MetricsLine, StatusEvent } from '../control/status.js';
import type { Logger } from '../log.js';
import { answer, listen, send } from '../protocol/channel.js';
import { jobSubjects, senderOf, sentBy } from '../protocol/job-subjects.js';
import type { JoinRequest, WorkerAssignment, WorkerEvent } from '../protocol/messages.js';
import type { KeyValueStore } from '../transport/key-value.js';
import type { Transport, TransportMessage } from '../transport/transport.js';
import { ensureRunDir, rewindRunLogs, runPaths, writeRunConfig, type RunPaths } from '../train/run-dir.js';
import { writeCommit } from './commit-log.js';
import { JobMetrics } from './job-metrics.js';
import { JobRecordStore } from './job-record.js';
import { decide, initialView, isOver, verdictFor, type JobView, type MembershipAction, type MembershipEvent, type MembershipPolicy } from './membership.js';
import { findResumePoint } from './resume-point.js';
import { jobStatus } from './status-view.js';

export interface CoordinatorOptions {
  transport: Transport;
  kv: KeyValueStore;
  config: Frozen<InstructueConfig>;
  out: string;
  resume: boolean;
  allowConfigChange: boolean;
  /** Resume even if the training data changed since the checkpoint (--allow-data-change). */
  allowDataChange?: boolean;
  log: Logger;
  /** Starts or stops worker processes (the local launcher); absent on Kubernetes. */
  scaleWorkers?: (workers: number) => Promise<ControlReply>;
}

export interface JobOutcome {
  state: 'done' | 'stopped' | 'failed';
  step: number;
  reason: string | null;
}

export class Coordinator {
  readonly incarnation = randomUUID();
  private readonly subjects;
  private readonly paths: RunPaths;
  private readonly records: JobRecordStore;
  private readonly policy: MembershipPolicy;
  private readonly assignment: WorkerAssignment;
  private readonly log: Logger;
  private readonly listeners = new Set<(event: StatusEvent) => void>();
  private readonly metrics = new JobMetrics();
  private readonly stops: Array<() => void> = [];
  private view: JobView;
  private history: MetricsLine[] = [];
  private readonly startedAt = new Date().toISOString();
  private timer: NodeJS.Timeout | null = null;
  private droppedForeign = 0;
  private finish!: (outcome: JobOutcome) => void;
  readonly outcome: Promise<JobOutcome>;

  constructor(private readonly opts: CoordinatorOptions) {
    const { config } = opts;
    this.subjects = jobSubjects(config.dist.job);
    this.paths = runPaths(opts.out);
    this.records = new JobRecordStore(opts.kv);
    this.log = opts.log;
    this.assignment = { config: workerConfigOf(config), runDir: opts.out };
    this.policy = {
      workerTimeoutMs: config.dist.worker_timeout_ms, noWorkersTimeoutMs: config.dist.no_workers_timeout_ms, maxWorkers: config.data.virtual_shards,
      totalSteps: config.train.steps, keepLast: config.train.keep_last, checkpointPath: (step) => join(this.paths.checkpoints, stepName(step)),
      maxFailedStarts: 8, retryBaseMs: Math.max(250, config.dist.heartbeat_ms), resendAfterMs: 3 * config.dist.heartbeat_ms,
    };
    this.view = initialView({ kind: 'fresh' }, config.dist.workers, 0, { step: 0, cursor: null }, []);
    this.outcome = new Promise((resolve) => (this.finish = resolve));
  }

  /** Prepares the run folder and the starting point, then listens; resolves when ready for workers. */
  async start(): Promise<void> {
    const { config, transport } = this.opts;
    ensureRunDir(this.paths);
    writeRunConfig(this.paths, config);
    const previous = await this.records.read();
    if (previous && previous.runDir !== this.opts.out) this.log.warn('the job record names another run folder', { record: previous.runDir, out: this.opts.out });
    // A record of an unfinished job means its coordinator died: resume it, whatever the flags say.
    const crashed = previous !== null && ['running', 'reconfiguring', 'stopping', 'waiting'].includes(previous.state);
    this.metrics.startedWithResumes(this.opts.resume || crashed ? (previous?.resumes ?? 0) + 1 : 0);
    if (this.opts.resume || crashed) {
      const why = crashed ? 'a previous coordinator of this job did not finish' : '--resume';
      const point = await findResumePoint(this.paths, config, this.opts.allowConfigChange, this.log, this.opts.allowDataChange ?? false);
      this.history = point.history;
      this.view = initialView(point.start, config.dist.workers, previous?.epoch ?? 0, point.committed, point.checkpoint ? [point.checkpoint] : []);
      this.log.info(point.checkpoint ? 'resuming from checkpoint' : 'no valid checkpoint; starting from step 0', { why, step: point.committed.step, dir: point.checkpoint?.path });
    } else {
      rewindRunLogs(this.paths, 0);
      this.view = initialView({ kind: 'fresh' }, config.dist.workers, previous?.epoch ?? 0, { step: 0, cursor: null }, []);
    }
    this.stops.push(listen<JoinRequest>(transport, this.subjects.anyJoin, this.log, (m, raw) => void (this.fromItsSender(m, raw) && this.onJoin(m, raw))));
    this.stops.push(listen<WorkerEvent>(transport, this.subjects.anyEvents, this.log, (m, raw) => void (this.fromItsSender(m, raw) && this.onEvent(m, raw))));
    await transport.flush();
    send(transport, this.subjects.all, { type: 'coordinator.hello', incarnation: this.incarnation });
    this.timer = setInterval(() => this.apply({ kind: 'tick', now: Date.now() }), Math.max(100, config.dist.heartbeat_ms));
    await this.persist();
    this.log.info('coordinator ready', { job: config.dist.job, workers: this.view.target, step: this.view.committed.step, incarnation: this.incarnation });
    this.emitStatus();
  }

  /**
   * A worker speaks on subjects that end in its own id, and nats-server's per-worker permissions
   * (set up by the local launcher; docs/security.md) let it publish on no other worker's: a
   * message whose claimed id is not its subject's is dropped unanswered and logged (the 1st, 2nd, 4th, … such message).
   */
  private fromItsSender(m: JoinRequest | WorkerEvent, raw: TransportMessage): boolean {
    if (sentBy(raw.subject, m.workerId)) return true;
    const n = ++this.droppedForeign;
    // Logged in powers of two, so a flood cannot fill the log.
    if ((n & (n - 1)) === 0) this.log.warn('dropped a worker message sent under another worker\'s id', { type: m.type, claimed: m.workerId, sender: senderOf(raw.subject), dropped: n });
    return false;
  }

  /** Messages dropped because their claimed worker id was not their sender's. */
  get droppedForeignMessages(): number {
    return this.droppedForeign;
  }

  private onJoin(m: JoinRequest, raw: TransportMessage): void {
    const actions = this.apply({ kind: 'join', id: m.workerId, host: m.host, pid: m.pid, backend: m.backend, now: Date.now() });
    const reply = actions.find((a) => a.kind === 'join.reply');
    if (reply?.kind !== 'join.reply') return;
    if (reply.ok) answer(this.opts.transport, raw, { type: 'join.ok', incarnation: this.incarnation, heartbeatMs: this.opts.config.dist.heartbeat_ms, workerTimeoutMs: this.opts.config.dist.worker_timeout_ms });
    else answer(this.opts.transport, raw, { type: 'join.refused', reason: reply.reason, retryable: !isOver(this.view) });
  }

  private onEvent(e: WorkerEvent, raw: TransportMessage): void {
    this.apply(membershipEvent(e, Date.now()), e);
    // Events are requests (retried until answered): the answer also tells a worker where it stands.
    if (raw.reply) answer(this.opts.transport, raw, { type: 'ack', incarnation: this.incarnation, ...verdictFor(this.view, e.workerId) });
  }

  // ---------------------------------------------------------------- decisions → effects

  /** `message`: the worker's message behind `event` (the metrics read figures the event leaves out). */
  private apply(event: MembershipEvent, message?: WorkerEvent): MembershipAction[] {
    const before = this.view;
    const { view, actions } = decide(this.view, event, this.policy);
    this.view = view;
    for (const action of actions) this.carryOut(action);
    this.metrics.record({ event, message, before, after: view, actions });
    if (actions.length > 0 || view.phase !== before.phase || view.members.length !== before.members.length) this.emitStatus();
    return actions;
  }

  private carryOut(a: MembershipAction): void {
    const { transport } = this.opts;
    switch (a.kind) {
      case 'join.reply':
        return; // answered by onJoin, which holds the request
      case 'assign':
        return send(transport, this.subjects.worker(a.to), { type: 'assign', incarnation: this.incarnation, epoch: a.epoch, rank: a.rank, members: a.members, assignment: this.assignment, start: a.start });
      case 'release':
        return send(transport, this.subjects.worker(a.to), { type: 'release', reason: a.reason });
      case 'pause':
        return send(transport, this.subjects.all, { type: 'pause', epoch: a.epoch, reason: a.reason });
      case 'commit': {
        const line = writeCommit(this.paths, a.reports, a.metrics, Date.now());
        if (line) {
          this.history.push(line);
          this.emit({ type: 'metrics', line });
        }
        return send(transport, this.subjects.all, { type: 'committed', epoch: this.view.current?.epoch ?? this.view.epoch, step: a.step });
      }
      case 'rewind':
        rewindRunLogs(this.paths, a.step);
        this.history = this.history.filter((l) => Number(l.step) <= a.step);
        return;
      case 'checkpoint':
        return this.emit({ type: 'checkpoint', checkpoint: { step: a.checkpoint.step, path: a.checkpoint.path, savedAt: a.checkpoint.savedAt } });
      case 'end':
        send(transport, this.subjects.all, { type: 'shutdown', reason: a.reason ?? `job ${a.state}` });
        this.log[a.state === 'failed' ? 'error' : 'info']('job ended', { state: a.state, step: this.view.committed.step, reason: a.reason });
        this.finish({ state: a.state, step: this.view.committed.step, reason: a.reason });
        return;
      case 'persist':
        return void this.persist();
      case 'log':
        return this.log[a.level](a.msg, a.fields);
    }
  }

  // ---------------------------------------------------------------- control

  async control(request: ControlRequest): Promise<ControlReply> {
    if (isOver(this.view)) return { ok: false, message: `job is ${this.view.phase}` };
    if (request.type === 'stop') {
      this.requestStop();
      return { ok: true, message: 'stopping at the next step boundary after a checkpoint' };
    }
    const max = this.policy.maxWorkers;
    if (!Number.isInteger(request.workers) || request.workers < 1) return { ok: false, message: 'workers must be a positive integer' };
    if (request.workers > max) return { ok: false, message: `at most data.virtual_shards (${max}) workers` };
    const launched = this.opts.scaleWorkers ? await this.opts.scaleWorkers(request.workers) : { ok: true, message: 'waiting for workers to join (on Kubernetes: kubectl scale statefulset/instructue-worker)' };
    this.apply({ kind: 'scale', workers: request.workers, now: Date.now() });
    return launched;
  }

  /** Checkpointed stop (SIGTERM/SIGINT, `instructue stop`). */
  requestStop(): void {
    this.apply({ kind: 'stop', now: Date.now() });
  }

  /** Ends the job as failed from outside (the launcher: a worker exited with a usage or data error). */
  fail(reason: string): void {
    this.apply({ kind: 'fail', reason, now: Date.now() });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const stop of this.stops) stop();
    await this.persist();
  }

  // ---------------------------------------------------------------- status

  status(): JobStatus {
    return jobStatus(this.view, { job: this.opts.config.dist.job, totalSteps: this.opts.config.train.steps, last: this.history[this.history.length - 1] ?? null, startedAt: this.startedAt });
  }

  metricsHistory(): MetricsLine[] {
    return this.history;
  }

  /** The job's counters and histograms for `/metrics` (src/coordinator/job-metrics.ts). */
  metricFamilies(): MetricFamily[] {
    return this.metrics.families();
  }

  onStatusEvent(listener: (event: StatusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: StatusEvent): void {
    for (const l of this.listeners) l(event);
  }

  private emitStatus(): void {
    this.emit({ type: 'status', status: this.status() });
  }

  private async persist(): Promise<void> {
    const latest = this.view.checkpoints[this.view.checkpoints.length - 1];
    try {
      await this.records.write({
        job: this.opts.config.dist.job, incarnation: this.incarnation, state: this.view.phase, epoch: this.view.epoch,
        committedStep: this.view.committed.step, checkpoint: latest ? { step: latest.step, path: latest.path } : null,
        runDir: this.opts.out, updatedAt: new Date().toISOString(), resumes: this.metrics.resumes,
      });
    } catch (err) {
      this.log.warn('could not write the job record (will retry on the next change)', { error: (err as Error).message });
    }
  }
}

/** A worker's message as a membership event. */
function membershipEvent(e: WorkerEvent, now: number): MembershipEvent {
  switch (e.type) {
    case 'heartbeat':
      return { kind: 'heartbeat', id: e.workerId, epoch: e.epoch, backend: e.backend, now };
    case 'step.done':
      return { kind: 'step.done', report: e, now };
    case 'checkpoint.saved':
      return { kind: 'checkpoint.saved', id: e.workerId, epoch: e.epoch, step: e.step, path: e.path, cursor: e.cursor, now };
    case 'paused':
      return { kind: 'paused', id: e.workerId, epoch: e.epoch, step: e.step, leaving: e.leaving, now };
    case 'finished':
      return { kind: 'finished', id: e.workerId, epoch: e.epoch, step: e.step, now };
    case 'fault':
      return { kind: 'fault', id: e.workerId, epoch: e.epoch, silentRanks: e.silentRanks, message: e.message, now };
  }
}
