/**
 * @module coordinator/membership
 * Every decision of the coordinator as one pure function, `decide(view, event) → {view,
 * actions}` (vitest's runner states; torchelastic's rendezvous as a state machine): who is a
 * member, when an epoch is formed and from which state, when a step is committed, when the job
 * pauses, ends or fails. No I/O and no clock: events carry `now`, and what must happen outside
 * (messages, log lines, the run folder's logs, the KV record) comes back as actions that
 * `coordinator.ts` carries out. Table-driven tests drive it without NATS.
 *
 * Promises kept here:
 * - A step is committed once, when every rank of the epoch reported it, in step order; a report
 *   at or below the committed step is acknowledged and ignored.
 * - A worker silent past `dist.worker_timeout_ms` (the one "gone" threshold) is lost; it learns
 *   so from the answer to its next message and may join again (it is re-admitted).
 * - A new epoch starts from the last committed step: survivors' snapshots, or — when no
 *   survivor holds it, or an epoch failed before committing — the newest checkpoint at or below
 *   the committed step; the logs are rewound only to that checkpoint, never below it.
 * - Nothing waits forever: epochs that keep failing back off and then fail the job; a job with
 *   no worker for `dist.no_workers_timeout_ms` fails; a stop that cannot pause ends the job at
 *   the last committed checkpoint. Every failure reason names the checkpoint to resume from.
 */
import type { JobState } from '../control/status.js';
import type { EpochStart, WorkerEvent } from '../protocol/messages.js';
import type { MetricsLine } from '../train/metrics-line.js';
import type { TrainCursor } from '../train/train-state.js';
import { available, epochOrder, findMember, newMember, type Member, type MemberTable } from './members.js';

export type StepDone = Extract<WorkerEvent, { type: 'step.done' }>;

export interface MembershipPolicy {
  /** The one threshold after which a silent worker is gone (`dist.worker_timeout_ms`). */
  workerTimeoutMs: number;
  /** A job with no available worker this long fails (`dist.no_workers_timeout_ms`). */
  noWorkersTimeoutMs: number;
  /** Most workers of one epoch (`data.virtual_shards`). */
  maxWorkers: number;
  totalSteps: number;
  keepLast: number;
  /** Where rank 0 publishes the checkpoint of `step` (reports naming another path are ignored). */
  checkpointPath: (step: number) => string;
  /** Epochs in a row that may fail before committing a step; then the job fails. */
  maxFailedStarts: number;
  /** Backoff after the n-th failed start: `retryBaseMs · 2^(n−1)`, at most 30 s. */
  retryBaseMs: number;
  /** An assignment a member has not acknowledged (its heartbeats name an older epoch) is sent again after this long. */
  resendAfterMs: number;
}

export interface EpochView {
  epoch: number;
  order: string[];
  /** Where its ranks start (kept to send the assignment again). */
  start: EpochStart;
  /** When the assignment was last sent to each member. */
  sentAt: Record<string, number>;
  /** Members that paused, with the step they paused at. */
  paused: Record<string, { step: number; leaving: boolean }>;
  finished: string[];
  faulted: boolean;
  /** Steps committed in this epoch. */
  commits: number;
}

export interface CheckpointRef {
  step: number;
  path: string;
  savedAt: string;
  cursor: TrainCursor;
}

export interface JobView {
  phase: JobState;
  reason: string | null;
  /** The newest epoch number handed out (epochs only grow, across coordinator restarts too). */
  epoch: number;
  current: EpochView | null;
  /** Rank order of the last epoch (its survivors come first in the next, so rank 0 holds the state). */
  lastOrder: string[];
  members: MemberTable;
  /** Workers released by a scale-down (told again if they keep talking). */
  released: string[];
  target: number;
  committed: { step: number; cursor: TrainCursor | null };
  /** Reports of not yet committed steps of the current epoch. */
  pending: StepDone[];
  /** Published checkpoints, oldest first (at most `keepLast`). */
  checkpoints: CheckpointRef[];
  /** Where the next epoch starts when none runs (after a failure, or before the first). */
  next: EpochStart;
  stopRequested: boolean;
  pauseRequested: boolean;
  /** An epoch was formed once: later epochs start with whoever is there. */
  everStarted: boolean;
  /** Since when no worker has been available (null while one is). */
  idleSince: number | null;
  /** Epochs in a row that failed before committing a step. */
  failedStarts: number;
  lastFault: string | null;
  /** No epoch is formed before this time (backoff after failed starts). */
  retryAt: number | null;
  /** The previous tick: a long gap means the coordinator itself was not running (stopped, swapped). */
  lastTick: number | null;
}

export type MembershipEvent =
  | { kind: 'join'; id: string; host: string; pid: number; backend: string; now: number }
  /** `epoch`: the newest epoch the worker was assigned (it lags when an assignment was lost). */
  | { kind: 'heartbeat'; id: string; epoch: number; backend: string; now: number }
  | { kind: 'step.done'; report: StepDone; now: number }
  | { kind: 'checkpoint.saved'; id: string; epoch: number; step: number; path: string; cursor: TrainCursor; now: number }
  | { kind: 'paused'; id: string; epoch: number; step: number; leaving: boolean; now: number }
  | { kind: 'finished'; id: string; epoch: number; step: number; now: number }
  | { kind: 'fault'; id: string; epoch: number; silentRanks: number[]; message: string; now: number }
  | { kind: 'tick'; now: number }
  | { kind: 'scale'; workers: number; now: number }
  | { kind: 'stop'; now: number }
  /** From outside (the launcher: a worker exited with a usage or data error). */
  | { kind: 'fail'; reason: string; now: number };

export type MembershipAction =
  | { kind: 'join.reply'; ok: true }
  | { kind: 'join.reply'; ok: false; reason: string }
  | { kind: 'assign'; to: string; epoch: number; rank: number; members: string[]; start: EpochStart }
  | { kind: 'release'; to: string; reason: string }
  | { kind: 'pause'; epoch: number; reason: 'stop' | 'resize' }
  | { kind: 'commit'; step: number; reports: StepDone[]; metrics: MetricsLine | null }
  | { kind: 'rewind'; step: number }
  | { kind: 'checkpoint'; checkpoint: CheckpointRef }
  | { kind: 'end'; state: 'done' | 'stopped' | 'failed'; reason: string | null }
  | { kind: 'persist' }
  | { kind: 'log'; level: 'info' | 'warn'; msg: string; fields: Record<string, unknown> };

export interface Transition {
  view: JobView;
  actions: MembershipAction[];
}

/** The view of a job about to start from `start` (fresh, or the resume point), wanting `target` workers. */
export function initialView(start: EpochStart, target: number, epoch: number, committed: JobView['committed'], checkpoints: CheckpointRef[]): JobView {
  return {
    phase: 'waiting', reason: null, epoch, current: null, lastOrder: [], members: [], released: [], target, committed, pending: [], checkpoints,
    next: start, stopRequested: false, pauseRequested: false, everStarted: false, idleSince: null, failedStarts: 0, lastFault: null, retryAt: null, lastTick: null,
  };
}

export function isOver(view: JobView): boolean {
  return view.phase === 'done' || view.phase === 'stopped' || view.phase === 'failed';
}

/** What the answer to any message of worker `id` tells it. */
export function verdictFor(view: JobView, id: string): { jobOver: boolean; rejoin: boolean; release: boolean } {
  const m = findMember(view.members, id);
  const released = view.released.includes(id);
  return { jobOver: isOver(view), release: released, rejoin: !released && (!m || m.lost) };
}

export function decide(view: JobView, event: MembershipEvent, policy: MembershipPolicy): Transition {
  const d = new Decision(structuredClone(view), policy, event.now);
  d.handle(event);
  return { view: d.view, actions: d.actions };
}

/** One event's worth of decisions on a private copy of the view. */
class Decision {
  readonly actions: MembershipAction[] = [];

  constructor(readonly view: JobView, private readonly policy: MembershipPolicy, private readonly now: number) {}

  handle(e: MembershipEvent): void {
    // Any message of a member shows it is alive (a lost one must join again).
    const from = e.kind === 'step.done' ? e.report.workerId : 'id' in e && e.kind !== 'join' ? e.id : null;
    const sender = from === null ? undefined : findMember(this.view.members, from);
    if (sender && !sender.lost) sender.lastSeen = this.now;
    switch (e.kind) {
      case 'join':
        return this.join(e.id, e.host, e.pid, e.backend);
      case 'heartbeat':
        if (sender && !sender.lost && e.backend) sender.backend = e.backend;
        return this.resendLostAssignment(e.id, e.epoch);
      case 'step.done':
        return this.stepDone(e.report);
      case 'checkpoint.saved':
        return this.checkpointSaved(e);
      case 'paused':
        return this.paused(e.id, e.epoch, e.step, e.leaving);
      case 'finished':
        return this.finishedEpoch(e.id, e.epoch);
      case 'fault':
        return this.fault(e.id, e.epoch, e.silentRanks, e.message);
      case 'tick':
        return this.tick();
      case 'scale':
        this.view.target = e.workers;
        return this.considerMembership();
      case 'stop':
        return this.stop();
      case 'fail':
        return this.end('failed', e.reason);
    }
  }

  // ------------------------------------------------------------------------------ events

  private join(id: string, host: string, pid: number, backend: string): void {
    const { view, policy, now } = this;
    if (isOver(view)) return this.reply(false, `job is ${view.phase}`);
    const known = findMember(view.members, id);
    if (known && !known.lost && (known.pid !== pid || known.host !== host)) {
      const silentFor = now - known.lastSeen;
      if (silentFor <= policy.workerTimeoutMs) {
        return this.reply(false, `worker id "${id}" belongs to pid ${known.pid} on ${known.host}, heard from ${silentFor} ms ago; give every worker its own --id (if that process died, it is dropped after dist.worker_timeout_ms = ${policy.workerTimeoutMs} ms)`);
      }
    }
    const refreshed = known && !known.lost && known.pid === pid && known.host === host;
    if (refreshed) known.lastSeen = now;
    else {
      view.members = view.members.filter((m) => m.id !== id);
      view.members.push(newMember(id, host, pid, backend, now));
    }
    view.released = view.released.filter((r) => r !== id);
    this.reply(true);
    if (refreshed) {
      // A member only joins again after leaving its epoch (it stopped hearing the coordinator):
      // the epoch cannot go on without it.
      if (view.current?.order.includes(id)) this.reform('rollback', `worker ${id} left its epoch and joined again`);
      return;
    }
    this.log('info', known ? 'worker re-admitted' : 'worker joined', { worker: id, host, pid });
    const n = available(view.members).length;
    // A worker joining a running job beyond the target raises it: on Kubernetes `kubectl scale`
    // alone grows the job (a leaver does not lower it; `instructue scale` does).
    if (view.current && n > view.target && n <= policy.maxWorkers) {
      this.log('info', 'a joining worker raises the target', { from: view.target, to: n });
      view.target = n;
    }
    if (known && view.current?.order.includes(id)) {
      // A new process under a known id holds none of the old one's snapshots: not a survivor.
      view.current.order = view.current.order.filter((o) => o !== id);
      this.reform('rollback', `worker ${id} restarted`);
    }
    else this.considerMembership();
  }

  private stepDone(r: StepDone): void {
    const { view } = this;
    const m = findMember(view.members, r.workerId);
    if (m && !m.lost) Object.assign(m, { step: r.step, computeMs: r.computeMs, waitMs: r.waitMs });
    const epoch = view.current;
    // Idempotent: a retried report of a committed step, or one of an abandoned epoch, is dropped.
    if (!epoch || r.epoch !== epoch.epoch || r.step <= view.committed.step) return;
    // A report counts only for the rank its sender holds (the sender is tied to its NATS identity).
    if (epoch.order[r.rank] !== r.workerId) {
      this.log('warn', 'ignored a step report for a rank its worker does not hold', { worker: r.workerId, rank: r.rank, holder: epoch.order[r.rank] ?? null, epoch: r.epoch, step: r.step });
      return;
    }
    if (view.pending.some((p) => p.step === r.step && p.rank === r.rank)) return;
    view.pending.push(r);
    for (;;) {
      const step = view.committed.step + 1;
      const reports = view.pending.filter((p) => p.step === step).sort((a, b) => a.rank - b.rank);
      if (reports.length < epoch.order.length) break;
      view.pending = view.pending.filter((p) => p.step !== step);
      const root = reports[0]!;
      view.committed = { step, cursor: root.cursor ?? view.committed.cursor };
      epoch.commits += 1;
      view.failedStarts = 0;
      this.actions.push({ kind: 'commit', step, reports, metrics: root.metrics });
    }
    this.actions.push({ kind: 'persist' });
    this.considerPause();
    this.considerFinish();
  }

  /** Assignments are published at most once: a member of the epoch whose heartbeat names an older one gets it again. */
  private resendLostAssignment(id: string, workerEpoch: number): void {
    const current = this.view.current;
    if (!current || workerEpoch >= current.epoch) return;
    const rank = current.order.indexOf(id);
    if (rank < 0 || this.now - (current.sentAt[id] ?? 0) < this.policy.resendAfterMs) return;
    current.sentAt[id] = this.now;
    this.log('info', 'assignment sent again (the worker has not seen it)', { worker: id, epoch: current.epoch, workerEpoch });
    this.actions.push({ kind: 'assign', to: id, epoch: current.epoch, rank, members: current.order, start: current.start });
  }

  private checkpointSaved(e: Extract<MembershipEvent, { kind: 'checkpoint.saved' }>): void {
    const { view, policy } = this;
    if (!view.current || e.epoch !== view.current.epoch || view.current.order[0] !== e.id) return;
    if (e.path !== policy.checkpointPath(e.step)) {
      this.log('warn', 'ignored a checkpoint report with an unexpected path', { worker: e.id, step: e.step, path: e.path });
      return;
    }
    const ref: CheckpointRef = { step: e.step, path: e.path, savedAt: new Date(this.now).toISOString(), cursor: e.cursor };
    view.checkpoints = [...view.checkpoints.filter((c) => c.step !== e.step), ref].sort((a, b) => a.step - b.step).slice(-Math.max(1, policy.keepLast));
    this.actions.push({ kind: 'checkpoint', checkpoint: ref }, { kind: 'persist' });
    this.considerPause();
    this.considerFinish();
  }

  private paused(id: string, epoch: number, step: number, leaving: boolean): void {
    const { current } = this.view;
    if (!current || epoch !== current.epoch) return;
    current.paused[id] = { step, leaving };
    const m = findMember(this.view.members, id);
    if (leaving && m) m.leaving = true;
    this.considerPause();
  }

  private finishedEpoch(id: string, epoch: number): void {
    const { current } = this.view;
    if (!current || epoch !== current.epoch) return;
    if (!current.finished.includes(id)) current.finished.push(id);
    this.considerFinish();
  }

  private fault(id: string, epoch: number, silentRanks: number[], message: string): void {
    const { view, policy, now } = this;
    const current = view.current;
    if (!current || epoch !== current.epoch || current.faulted) return;
    current.faulted = true;
    view.lastFault = message;
    // A silent rank is gone only once it is also past the one threshold; anyone else is retried.
    const lost = silentRanks.map((r) => current.order[r]!).filter((rid) => {
      const m = findMember(view.members, rid);
      return !m || now - m.lastSeen > policy.workerTimeoutMs;
    });
    for (const rid of lost) findMember(view.members, rid)!.lost = true;
    this.log('warn', 'epoch fault', { epoch, reportedBy: id, lost, message });
    this.reform('rollback', lost.length > 0 ? `lost ${lost.join(', ')}` : 'collective fault');
  }

  private tick(): void {
    const { view, policy, now } = this;
    if (isOver(view)) return;
    // Ticks come every heartbeat; a much longer gap means this process was not running (SIGSTOP,
    // swapped out): nobody could be heard meanwhile, so the silence is not the workers'.
    const gap = view.lastTick === null ? 0 : now - view.lastTick;
    view.lastTick = now;
    if (gap > policy.workerTimeoutMs / 2) for (const m of view.members) if (!m.lost) m.lastSeen = Math.min(now, m.lastSeen + gap);
    // Broadcasts are at-most-once: repeat a pending pause until every rank has paused.
    if (view.pauseRequested && view.current) this.actions.push({ kind: 'pause', epoch: view.current.epoch, reason: view.stopRequested ? 'stop' : 'resize' });
    const lost = view.members.filter((m) => !m.lost && now - m.lastSeen > policy.workerTimeoutMs);
    for (const m of lost) m.lost = true;
    if (lost.length > 0) this.log('warn', 'workers lost (no heartbeat)', { workers: lost.map((m) => m.id) });
    // Lost workers outside the epoch are forgotten after a while; re-joining re-admits anyone.
    view.members = view.members.filter((m) => !m.lost || view.current?.order.includes(m.id) || now - m.lastSeen < 10 * policy.workerTimeoutMs);
    view.released = view.released.slice(-64);
    if (view.current && lost.some((m) => view.current!.order.includes(m.id))) return this.reform('rollback', `no heartbeat from ${lost.map((m) => m.id).join(', ')}`);
    if (available(view.members).length === 0) {
      view.idleSince ??= now;
      if (now - view.idleSince > policy.noWorkersTimeoutMs) {
        return this.end('failed', `no worker for ${Math.round((now - view.idleSince) / 1000)} s (dist.no_workers_timeout_ms); ${this.resumeHint()}`);
      }
    } else view.idleSince = null;
    if (!view.current) this.considerMembership();
  }

  private stop(): void {
    const { view } = this;
    if (view.stopRequested || isOver(view)) return;
    view.stopRequested = true;
    this.log('warn', 'stop requested: every rank stops at the same step, rank 0 saves a checkpoint', {});
    if (!view.current) return this.end('stopped', view.everStarted ? `stopped while no epoch ran; ${this.resumeHint()}` : 'stopped before training started');
    this.requestPause('stop');
  }

  // ------------------------------------------------------------------------------ decisions

  /** Starts an epoch once enough workers are there; pauses a running one to take in newcomers or let leavers go. */
  private considerMembership(): void {
    const { view } = this;
    if (isOver(view) || view.phase === 'stopping') return;
    const n = available(view.members).length;
    if (!view.current) {
      if (view.retryAt !== null && this.now < view.retryAt) return;
      // The first epoch waits for the whole target; later ones go on with whoever is there.
      const need = view.everStarted ? 1 : view.target;
      if (n >= need && n > 0) this.formEpoch(view.next, view.everStarted ? 'restart' : 'start');
      return;
    }
    const wanted = Math.min(view.target, n);
    if (wanted !== view.current.order.length && !view.pauseRequested) this.requestPause('resize');
  }

  private requestPause(reason: 'stop' | 'resize'): void {
    const { view } = this;
    if (!view.current) return;
    view.pauseRequested = true;
    view.phase = reason === 'stop' ? 'stopping' : 'reconfiguring';
    this.actions.push({ kind: 'pause', epoch: view.current.epoch, reason });
  }

  /** Once every rank paused at the same, committed step: stop, or re-form without leavers/with newcomers. */
  private considerPause(): void {
    const { view } = this;
    const epoch = view.current;
    if (!epoch) return;
    const paused = Object.values(epoch.paused);
    if (paused.length < epoch.order.length) return;
    const steps = new Set(paused.map((p) => p.step));
    const step = paused[0]!.step;
    if (steps.size !== 1 || view.committed.step !== step) return;
    if (view.stopRequested) {
      if (!view.checkpoints.some((c) => c.step === step)) return; // rank 0's save is on its way
      return this.end('stopped', `stopped on request at step ${step}`);
    }
    this.reform('pause', 'membership change at a step boundary');
  }

  private considerFinish(): void {
    const { view, policy } = this;
    const epoch = view.current;
    if (!epoch || epoch.finished.length < epoch.order.length) return;
    if (view.committed.step < policy.totalSteps) return;
    if (!view.checkpoints.some((c) => c.step === view.committed.step)) return;
    this.end('done', null);
  }

  /** A new epoch after a pause (state at the pause step) or a fault (rolled back to the last commit). */
  private reform(kind: 'pause' | 'rollback', why: string): void {
    const { view, policy } = this;
    const previous = view.current;
    if (view.stopRequested) return this.end('stopped', `stopped during a ${kind === 'pause' ? 'reconfiguration' : 'fault'} (${why}); ${this.resumeHint()}`);
    if (kind === 'rollback' && previous && previous.commits === 0) view.failedStarts += 1;
    if (view.failedStarts >= policy.maxFailedStarts) {
      return this.end('failed', `${view.failedStarts} epochs in a row failed before committing a step (last: ${view.lastFault ?? why}); ${this.resumeHint()}`);
    }
    const order = previous?.order ?? [];
    view.lastOrder = order;
    view.members = view.members.filter((m) => !(m.leaving && order.includes(m.id)));
    const survivors = epochOrder(view.members, order, view.target).filter((id) => order.includes(id));
    // Survivors hold the committed step in memory; after a failed start, trust only checkpoints.
    if (survivors.length > 0 && view.failedStarts === 0) view.next = view.committed.cursor ? { kind: 'snapshot', cursor: view.committed.cursor } : view.next;
    else view.next = this.restartPoint();
    view.current = null;
    view.pending = [];
    view.pauseRequested = false;
    view.phase = 'reconfiguring';
    view.retryAt = view.failedStarts > 0 ? this.now + Math.min(30_000, policy.retryBaseMs * 2 ** (view.failedStarts - 1)) : null;
    this.log('info', kind === 'pause' ? 'reconfiguring at a step boundary' : 'rolling back to the last committed step', { why, step: view.committed.step, from: view.next.kind, retryInMs: view.retryAt === null ? 0 : view.retryAt - this.now });
    this.considerMembership();
    if (!view.current && view.retryAt === null) this.waiting(why);
  }

  /** The newest checkpoint at or below the committed step (or a fresh start); rewinds the logs to it. */
  private restartPoint(): EpochStart {
    const { view } = this;
    const ckpt = [...view.checkpoints].reverse().find((c) => c.step <= view.committed.step);
    const step = ckpt?.step ?? 0;
    if (step < view.committed.step) {
      this.actions.push({ kind: 'rewind', step });
      this.log('warn', 'no survivor holds the committed state; restarting from the newest checkpoint', { committed: view.committed.step, checkpoint: step });
      view.committed = { step, cursor: ckpt?.cursor ?? null };
    }
    return ckpt ? { kind: 'checkpoint', path: ckpt.path, cursor: ckpt.cursor } : { kind: 'fresh' };
  }

  private formEpoch(start: EpochStart, why: string): void {
    const { view } = this;
    const order = epochOrder(view.members, view.lastOrder, view.target);
    if (order.length === 0) return this.waiting(why);
    view.epoch += 1;
    view.current = { epoch: view.epoch, order, start, sentAt: Object.fromEntries(order.map((id) => [id, this.now])), paused: {}, finished: [], faulted: false, commits: 0 };
    view.phase = 'running';
    view.everStarted = true;
    view.retryAt = null;
    view.pending = [];
    view.pauseRequested = false;
    order.forEach((to, rank) => this.actions.push({ kind: 'assign', to, epoch: view.epoch, rank, members: order, start }));
    // Workers beyond the target (after a scale-down) are released; they exit cleanly.
    for (const spare of available(view.members).filter((m) => !order.includes(m.id))) {
      this.actions.push({ kind: 'release', to: spare.id, reason: 'scaled down' });
      view.members = view.members.filter((m) => m.id !== spare.id);
      view.released.push(spare.id);
    }
    this.log('info', 'epoch formed', { epoch: view.epoch, workers: order, start: start.kind, step: start.kind === 'fresh' ? 0 : start.cursor.step, why });
    this.actions.push({ kind: 'persist' });
  }

  private waiting(why: string): void {
    const { view } = this;
    view.phase = 'waiting';
    this.log('warn', 'no epoch can start yet; waiting for workers to join', { why, available: available(view.members).length, needed: view.everStarted ? 1 : view.target });
  }

  private end(state: 'done' | 'stopped' | 'failed', reason: string | null): void {
    const { view } = this;
    if (isOver(view)) return;
    view.phase = state;
    view.reason = reason;
    view.pauseRequested = false;
    this.actions.push({ kind: 'end', state, reason }, { kind: 'persist' });
  }

  /** Where a later `--resume` continues (for failure messages). */
  private resumeHint(): string {
    const ckpt = [...this.view.checkpoints].reverse().find((c) => c.step <= this.view.committed.step);
    return ckpt ? `the last committed checkpoint is step ${ckpt.step} (${ckpt.path}); continue with --resume` : 'no checkpoint of a committed step exists yet; --resume starts from step 0';
  }

  private reply(ok: true): void;
  private reply(ok: false, reason: string): void;
  private reply(ok: boolean, reason?: string): void {
    this.actions.push(ok ? { kind: 'join.reply', ok: true } : { kind: 'join.reply', ok: false, reason: reason! });
  }

  private log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void {
    this.actions.push({ kind: 'log', level, msg, fields });
  }
}

export type { Member };
