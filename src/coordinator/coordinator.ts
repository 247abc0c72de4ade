/**
 * @module coordinator/coordinator
 * The job's coordinator: membership epochs, commits, checkpoints and the job's end. It is not
 * in the data path — workers step on their own, exchanging gradients with each other — so it
 * only reacts to events:
 *
 * - join / heartbeat: the member table; a worker silent past `dist.worker_timeout_ms` is lost.
 * - step.done: when every rank reported a step, it is committed (logs written, `committed`
 *   broadcast, KV updated). Only committed steps ever reach RUN/consumed.jsonl.
 * - a lost worker or a collective fault: a new epoch with the survivors, rolled back to the last
 *   committed step (every survivor holds a snapshot of it; rank 0 broadcasts its copy).
 * - a join while fewer than `targetWorkers` train, a leaving worker, a scale request: a pause
 *   (all ranks stop at the same step), then a new epoch with the new membership.
 * - stop: a pause with a checkpoint at the pause step, then shutdown.
 * - restart: a KV record of a running job makes a new coordinator resume from the newest valid
 *   checkpoint (logs cut back to it), with a newer epoch so old traffic is dropped.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { answer, listen, send } from '../protocol/channel.js';
import { jobSubjects } from '../protocol/job-subjects.js';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import { workerConfigOf } from '../config/worker-config.js';
import type { CheckpointInfo, ControlReply, ControlRequest, JobState, JobStatus, MetricsLine, StatusEvent } from '../control/status.js';
import type { KeyValueStore } from '../transport/key-value.js';
import type { EpochStart, JoinRequest, WorkerEvent } from '../protocol/messages.js';
import type { TrainCursor } from '../train/train-state.js';
import type { Transport, TransportMessage } from '../transport/transport.js';
import type { Logger } from '../log.js';
import { ensureRunDir, rewindRunLogs, runPaths, type RunPaths } from '../train/run-dir.js';
import { CommitLog, type StepDone } from './commit-log.js';
import { JobRecordStore, type JobRecord } from './job-record.js';
import { MemberTable, type Member } from './members.js';
import { findResumePoint } from './resume-point.js';

export interface CoordinatorOptions {
  transport: Transport;
  kv: KeyValueStore;
  config: Frozen<InstructueConfig>;
  out: string;
  resume: boolean;
  allowConfigChange: boolean;
  log: Logger;
  /** Starts or stops worker processes (the local launcher); absent on Kubernetes. */
  scaleWorkers?: (workers: number) => Promise<ControlReply>;
}

export interface JobOutcome {
  state: 'done' | 'stopped' | 'failed';
  step: number;
  reason: string | null;
}

interface Epoch {
  epoch: number;
  order: string[];
  /** Steps at which members paused (id → step, leaving). */
  paused: Map<string, { step: number; leaving: boolean }>;
  finished: Set<string>;
  faulted: boolean;
}

export class Coordinator {
  readonly incarnation = randomUUID();
  private readonly subjects;
  private readonly paths: RunPaths;
  private readonly members = new MemberTable();
  private readonly commits: CommitLog;
  private readonly records: JobRecordStore;
  private readonly log: Logger;
  private readonly listeners = new Set<(event: StatusEvent) => void>();
  private readonly stops: Array<() => void> = [];
  private state: JobState = 'waiting';
  private reason: string | null = null;
  private epochNumber = 0;
  private current: Epoch | null = null;
  private committed: { step: number; cursor: TrainCursor | null } = { step: 0, cursor: null };
  private initialStart: EpochStart = { kind: 'fresh' };
  private targetWorkers: number;
  private stopRequested = false;
  private pauseRequested = false;
  private checkpoints: CheckpointInfo[] = [];
  private history: MetricsLine[] = [];
  private last: MetricsLine | null = null;
  private readonly startedAt = new Date().toISOString();
  private timer: NodeJS.Timeout | null = null;
  private finish!: (outcome: JobOutcome) => void;
  readonly outcome: Promise<JobOutcome>;

  constructor(private readonly opts: CoordinatorOptions) {
    this.subjects = jobSubjects(opts.config.dist.job);
    this.paths = runPaths(opts.out);
    this.commits = new CommitLog(this.paths);
    this.records = new JobRecordStore(opts.kv);
    this.log = opts.log;
    this.targetWorkers = opts.config.dist.workers;
    this.outcome = new Promise((resolve) => (this.finish = resolve));
  }

  /** Prepares the run folder and the starting point, then listens; resolves when ready for workers. */
  async start(): Promise<void> {
    const { config, transport } = this.opts;
    ensureRunDir(this.paths);
    writeFileSync(this.paths.config, JSON.stringify(config, null, 2) + '\n');
    const previous = await this.records.read();
    if (previous && previous.runDir !== this.opts.out) this.log.warn('the job record names another run folder', { record: previous.runDir, out: this.opts.out });
    this.epochNumber = previous?.epoch ?? 0;
    // A record of an unfinished job means its coordinator died: resume it, whatever the flags say.
    const crashed = previous !== null && ['running', 'reconfiguring', 'stopping', 'waiting'].includes(previous.state);
    if (this.opts.resume || crashed) await this.resumeFromCheckpoint(crashed ? 'a previous coordinator of this job did not finish' : '--resume');
    else {
      rewindRunLogs(this.paths, 0);
    }
    this.stops.push(listen<JoinRequest>(transport, this.subjects.join, this.log, (m, raw) => this.onJoin(m, raw)));
    this.stops.push(listen<WorkerEvent>(transport, this.subjects.events, this.log, (m, raw) => {
      this.onEvent(m);
      // Events are requests (retried until answered): the answer also tells a worker the job is over.
      if (raw.reply) answer(transport, raw, { type: 'ack', incarnation: this.incarnation, jobOver: this.isOver() });
    }));
    await transport.flush();
    send(transport, this.subjects.all, { type: 'coordinator.hello', incarnation: this.incarnation });
    this.timer = setInterval(() => this.checkLiveness(), Math.max(100, config.dist.heartbeat_ms));
    await this.persist();
    this.log.info('coordinator ready', { job: config.dist.job, workers: this.targetWorkers, step: this.committed.step, incarnation: this.incarnation });
    this.emitStatus();
  }

  private async resumeFromCheckpoint(why: string): Promise<void> {
    const point = await findResumePoint(this.paths, this.opts.config, this.opts.allowConfigChange, this.log);
    this.initialStart = point.start;
    this.committed = point.committed;
    this.history = point.history;
    this.last = this.history[this.history.length - 1] ?? null;
    if (point.checkpoint) this.checkpoints.push(point.checkpoint);
    this.log.info(point.checkpoint ? 'resuming from checkpoint' : 'no valid checkpoint; starting from step 0', { why, step: point.committed.step, dir: point.checkpoint?.path });
  }

  // ---------------------------------------------------------------- events

  private onJoin(m: JoinRequest, raw: TransportMessage): void {
    const { config, transport } = this.opts;
    if (this.isOver()) return answer(transport, raw, { type: 'join.refused', reason: `job is ${this.state}` });
    const { member, replaced } = this.members.join(m.workerId, m.host, m.pid, m.backend, Date.now());
    answer(transport, raw, { type: 'join.ok', incarnation: this.incarnation, heartbeatMs: config.dist.heartbeat_ms });
    this.log.info('worker joined', { worker: member.id, host: m.host, pid: m.pid, replaced });
    // A worker joining a running job beyond the target raises it: on Kubernetes `kubectl scale`
    // alone grows the job. (A leaver does not lower it, so a replacement pod is taken back in;
    // `instructue scale` lowers it.)
    const available = this.members.available().length;
    if (this.current && available > this.targetWorkers && available <= config.data.virtual_shards) {
      this.log.info('a joining worker raises the target', { from: this.targetWorkers, to: available });
      this.targetWorkers = available;
    }
    if (replaced && this.current?.order.includes(member.id)) this.onLost([member.id], 'a worker restarted');
    else this.considerMembership();
    this.emitStatus();
  }

  private onEvent(e: WorkerEvent): void {
    const now = Date.now();
    this.members.seen(e.workerId, now);
    const member = this.members.get(e.workerId);
    if (e.type === 'heartbeat') {
      if (member && e.backend) member.backend = e.backend;
      return;
    }
    if (!this.current || e.epoch !== this.current.epoch) return; // a previous epoch's straggler
    switch (e.type) {
      case 'step.done':
        if (member) Object.assign(member, { step: e.step, computeMs: e.computeMs, waitMs: e.waitMs });
        return this.onStepDone(e);
      case 'checkpoint.saved':
        return this.onCheckpoint(e.step, e.path);
      case 'paused':
        this.current.paused.set(e.workerId, { step: e.step, leaving: e.leaving });
        if (e.leaving && member) member.leaving = true;
        return this.considerPause();
      case 'finished':
        this.current.finished.add(e.workerId);
        return this.considerFinish();
      case 'fault':
        return this.onFault(e.workerId, e.silentRanks, e.message);
    }
  }

  private onStepDone(e: StepDone): void {
    const commit = this.commits.add(e, this.current!.order.length);
    if (!commit) return;
    this.committed = { step: commit.step, cursor: commit.cursor ?? this.committed.cursor };
    if (commit.metrics) {
      this.last = commit.metrics;
      this.history.push(commit.metrics);
      this.emit({ type: 'metrics', line: commit.metrics });
    }
    send(this.opts.transport, this.subjects.all, { type: 'committed', epoch: this.current!.epoch, step: commit.step });
    void this.persist();
    this.emitStatus();
    this.considerPause();
    this.considerFinish();
  }

  private onCheckpoint(step: number, path: string): void {
    const info = { step, path, savedAt: new Date().toISOString() };
    this.checkpoints = [...this.checkpoints.filter((c) => c.step !== step), info].slice(-Math.max(1, this.opts.config.train.keep_last));
    this.emit({ type: 'checkpoint', checkpoint: info });
    void this.persist();
    this.considerPause();
  }

  private onFault(workerId: string, silentRanks: number[], message: string): void {
    const epoch = this.current!;
    if (epoch.faulted) return;
    epoch.faulted = true;
    // A silent rank whose heartbeats also stopped is gone; anyone else is retried.
    const now = Date.now();
    const grace = 3 * this.opts.config.dist.heartbeat_ms;
    const lost = silentRanks.map((r) => epoch.order[r]!).filter((id) => {
      const m = this.members.get(id);
      return !m || now - m.lastSeen > grace;
    });
    this.log.warn('epoch fault', { epoch: epoch.epoch, reportedBy: workerId, lost, message });
    for (const id of lost) this.members.get(id)!.lost = true;
    this.reform('rollback', lost.length > 0 ? `lost ${lost.join(', ')}` : 'collective fault');
  }

  private onLost(ids: string[], why: string): void {
    for (const id of ids) {
      const m = this.members.get(id);
      if (m) m.lost = true;
    }
    if (this.current && ids.some((id) => this.current!.order.includes(id))) this.reform('rollback', `${why}: ${ids.join(', ')}`);
  }

  private checkLiveness(): void {
    // Broadcasts are at-most-once: repeat a pending pause until every rank has paused.
    if (this.pauseRequested && this.current) send(this.opts.transport, this.subjects.all, { type: 'pause', epoch: this.current.epoch, reason: this.stopRequested ? 'stop' : 'resize' });
    const lost = this.members.expire(Date.now(), this.opts.config.dist.worker_timeout_ms);
    if (lost.length === 0) return;
    this.log.warn('workers lost (no heartbeat)', { workers: lost.map((m) => m.id) });
    for (const m of lost) if (!this.current?.order.includes(m.id)) this.members.remove(m.id);
    this.onLost(lost.map((m) => m.id), 'no heartbeat');
    this.emitStatus();
  }

  // ---------------------------------------------------------------- membership

  /** Starts the first epoch once enough workers joined; pauses a running one to take in newcomers. */
  private considerMembership(): void {
    if (this.isOver() || this.state === 'stopping') return;
    const available = this.members.available();
    if (!this.current) {
      if (available.length >= this.targetWorkers) this.formEpoch(this.initialStart, 'start');
      else this.log.info('waiting for workers', { joined: available.length, needed: this.targetWorkers });
      return;
    }
    const size = this.current.order.length;
    const wanted = Math.min(this.targetWorkers, available.length);
    if (wanted !== size && !this.pauseRequested) this.requestPause('resize');
  }

  private requestPause(reason: 'stop' | 'resize'): void {
    if (!this.current) return;
    this.pauseRequested = true;
    this.state = reason === 'stop' ? 'stopping' : 'reconfiguring';
    send(this.opts.transport, this.subjects.all, { type: 'pause', epoch: this.current.epoch, reason });
    this.emitStatus();
  }

  /** Once every rank paused at the same, committed step: stop, or re-form without leavers/with newcomers. */
  private considerPause(): void {
    const epoch = this.current;
    if (!epoch || epoch.paused.size < epoch.order.length) return;
    const steps = new Set([...epoch.paused.values()].map((p) => p.step));
    const step = [...steps][0]!;
    if (steps.size !== 1 || this.committed.step !== step) return;
    if (this.stopRequested) {
      if (!this.checkpoints.some((c) => c.step === step)) return; // rank 0's save is on its way
      this.end('stopped', `stopped on request at step ${step}`);
      return;
    }
    this.reform('pause', 'membership change at a step boundary');
  }

  private considerFinish(): void {
    const epoch = this.current;
    if (!epoch || epoch.finished.size < epoch.order.length) return;
    if (this.committed.step < this.opts.config.train.steps) return;
    if (!this.checkpoints.some((c) => c.step === this.committed.step)) return;
    this.end('done', null);
  }

  /** A new epoch after a pause (state at the pause step) or a fault (rolled back to the last commit). */
  private reform(kind: 'pause' | 'rollback', why: string): void {
    const previous = this.current?.order ?? [];
    const survivors = this.members.order(previous, this.targetWorkers).filter((id) => previous.includes(id));
    let start: EpochStart;
    if (survivors.length > 0) {
      start = this.committed.cursor ? { kind: 'snapshot', cursor: this.committed.cursor } : this.initialStart;
    } else {
      // Nobody holds the committed state in memory: fall back to where this coordinator started.
      start = this.initialStart;
      const from = start.kind === 'checkpoint' ? start.cursor.step : 0;
      rewindRunLogs(this.paths, from);
      this.committed = { step: from, cursor: start.kind === 'checkpoint' ? start.cursor : null };
    }
    for (const id of previous) {
      const m = this.members.get(id);
      if (m?.leaving) this.members.remove(id);
    }
    this.log.info(kind === 'pause' ? 'reconfiguring at a step boundary' : 'rolling back to the last committed step', { why, step: this.committed.step });
    this.formEpoch(start, why);
  }

  private formEpoch(start: EpochStart, why: string): void {
    const order = this.members.order(this.current?.order ?? [], this.targetWorkers);
    this.commits.reset();
    this.pauseRequested = false;
    if (order.length === 0) {
      this.current = null;
      this.state = 'waiting';
      this.log.warn('no workers left; waiting for workers to join', { why });
      this.emitStatus();
      return;
    }
    this.epochNumber += 1;
    this.current = { epoch: this.epochNumber, order, paused: new Map(), finished: new Set(), faulted: false };
    this.state = 'running';
    const assignment = { config: workerConfigOf(this.opts.config), runDir: this.opts.out };
    order.forEach((id, rank) => {
      send(this.opts.transport, this.subjects.worker(id), { type: 'assign', incarnation: this.incarnation, epoch: this.epochNumber, rank, members: order, assignment, start });
    });
    // Workers beyond the target (after a scale-down) are released; they exit cleanly.
    for (const spare of this.members.available().filter((m) => !order.includes(m.id))) {
      send(this.opts.transport, this.subjects.worker(spare.id), { type: 'release', reason: 'scaled down' });
      this.members.remove(spare.id);
    }
    this.log.info('epoch formed', { epoch: this.epochNumber, workers: order, start: start.kind, step: start.kind === 'fresh' ? 0 : start.cursor.step, why });
    void this.persist();
    this.emitStatus();
  }

  // ---------------------------------------------------------------- control

  async control(request: ControlRequest): Promise<ControlReply> {
    if (this.isOver()) return { ok: false, message: `job is ${this.state}` };
    if (request.type === 'stop') {
      this.requestStop();
      return { ok: true, message: 'stopping at the next step boundary after a checkpoint' };
    }
    if (!Number.isInteger(request.workers) || request.workers < 1) return { ok: false, message: 'workers must be a positive integer' };
    if (request.workers > this.opts.config.data.virtual_shards) return { ok: false, message: `at most data.virtual_shards (${this.opts.config.data.virtual_shards}) workers` };
    this.targetWorkers = request.workers;
    const launched = this.opts.scaleWorkers ? await this.opts.scaleWorkers(request.workers) : { ok: true, message: 'waiting for workers to join (on Kubernetes: kubectl scale statefulset/instructue-worker)' };
    this.considerMembership();
    return launched;
  }

  /** Checkpointed stop (SIGTERM/SIGINT, `instructue stop`). */
  requestStop(): void {
    if (this.stopRequested || this.isOver()) return;
    this.stopRequested = true;
    this.log.warn('stop requested: every rank stops at the same step, rank 0 saves a checkpoint');
    if (!this.current) return this.end('stopped', 'stopped before training started');
    this.requestPause('stop');
  }

  private end(state: 'done' | 'stopped' | 'failed', reason: string | null): void {
    if (this.isOver()) return;
    this.state = state;
    this.reason = reason;
    send(this.opts.transport, this.subjects.all, { type: 'shutdown', reason: reason ?? `job ${state}` });
    this.log.info('job ended', { state, step: this.committed.step, reason });
    void this.persist();
    this.emitStatus();
    this.finish({ state, step: this.committed.step, reason });
  }

  private isOver(): boolean {
    return this.state === 'done' || this.state === 'stopped' || this.state === 'failed';
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const stop of this.stops) stop();
    await this.persist();
  }

  // ---------------------------------------------------------------- status

  status(): JobStatus {
    const epoch = this.current;
    const rankOf = (id: string) => (epoch ? (epoch.order.indexOf(id) >= 0 ? epoch.order.indexOf(id) : null) : null);
    const stateOf = (m: Member) => (m.lost ? 'lost' : m.leaving ? 'left' : epoch?.paused.has(m.id) ? 'paused' : rankOf(m.id) !== null ? 'training' : 'joining');
    return {
      job: this.opts.config.dist.job, state: this.state, epoch: this.epochNumber, step: this.committed.step,
      totalSteps: this.opts.config.train.steps, targetWorkers: this.targetWorkers, workers: this.members.statuses(rankOf, stateOf),
      last: this.last, checkpoints: this.checkpoints, startedAt: this.startedAt, reason: this.reason,
    };
  }

  metricsHistory(): MetricsLine[] {
    return this.history;
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
    const latest = this.checkpoints[this.checkpoints.length - 1];
    const record: JobRecord = {
      job: this.opts.config.dist.job, incarnation: this.incarnation, state: this.state, epoch: this.epochNumber,
      committedStep: this.committed.step, checkpoint: latest ? { step: latest.step, path: latest.path } : null,
      runDir: this.opts.out, updatedAt: new Date().toISOString(),
    };
    try {
      await this.records.write(record);
    } catch (err) {
      this.log.warn('could not write the job record (will retry on the next change)', { error: (err as Error).message });
    }
  }
}
