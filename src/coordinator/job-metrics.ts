/**
 * @module coordinator/job-metrics
 * What the job has done, as Prometheus counters and histograms: steps, samples and tokens
 * trained, step and phase times, each rank's compute and wait, membership epochs, rollbacks and
 * rewinds, workers lost and re-admitted, collective retransmits, aborts and bytes, checkpoints
 * written with their bytes and times, and resumes. `/metrics` renders them after the status
 * gauges (`src/control/prometheus.ts`; every series is listed in docs/kubernetes.md).
 *
 * The coordinator's shell feeds every decision here — the event, the worker's message behind it,
 * the view before and after, the actions — so `membership.ts` stays pure and the counts follow
 * what was decided: a step counts when it is committed (once: commits are idempotent), a
 * checkpoint when it is recorded. Workers report their collective figures cumulatively per
 * process, so a lost report loses nothing; a smaller figure or another pid means a new process.
 */
import { MetricsRegistry, type MetricFamily } from '../control/metrics-registry.js';
import type { CollectiveCounts, WorkerEvent } from '../protocol/messages.js';
import type { StepTimings } from '../train/step.js';
import { findMember } from './members.js';
import type { JobView, MembershipAction, MembershipEvent } from './membership.js';

/** One decision of the coordinator, as the shell carried it out. */
export interface DecisionRecord {
  event: MembershipEvent;
  /** The worker's message behind `event`, when one is (it carries figures the event leaves out). */
  message?: WorkerEvent;
  before: JobView;
  after: JobView;
  actions: readonly MembershipAction[];
}

/** Label value of each step phase (the `${key}_ms` timings in rank 0's metrics line). */
const PHASES: Readonly<Record<keyof StepTimings, string>> = {
  prepare: 'prepare', pass1: 'pass1', gather: 'gather', loss: 'loss', pass2: 'pass2', allReduce: 'all_reduce', optimizer: 'optimizer',
};

/** What caused an epoch to be abandoned, by the event that ended it (pauses end epochs at a step boundary instead). */
const ROLLBACK_CAUSES: Partial<Record<MembershipEvent['kind'], string>> = { fault: 'fault', tick: 'lost', join: 'rejoined' };

/** Checkpoint reports already counted (a report retried after a lost answer is recorded again). */
const REMEMBERED_CHECKPOINTS = 64;

export class JobMetrics {
  private readonly registry = new MetricsRegistry();
  private readonly steps = this.registry.counter('instructue_steps_total', 'Optimizer steps committed (every rank finished them); steps trained again after a rewind count again.');
  private readonly samples = this.registry.counter('instructue_samples_total', 'Training samples of the committed steps, all ranks together.');
  private readonly tokens = this.registry.counter('instructue_tokens_total', 'Real (non-padding) decoder tokens of the committed steps, all ranks together.');
  private readonly stepSeconds = this.registry.histogram('instructue_step_duration_seconds', 'Wall time of each committed step on rank 0, from drawing its batch to the optimizer update.');
  private readonly phaseSeconds = this.registry.histogram('instructue_step_phase_duration_seconds', 'Time of each phase of a committed step on rank 0: prepare, pass1, gather (all-gather of the embeddings), loss, pass2, all_reduce (the gradient sum), optimizer.', ['phase']);
  private readonly computeSeconds = this.registry.histogram('instructue_worker_compute_duration_seconds', 'Time each rank computed in a committed step (the step minus its waits in collectives); the straggler computes longest.', ['worker', 'rank']);
  private readonly waitSeconds = this.registry.histogram('instructue_worker_wait_duration_seconds', 'Time each rank waited in collectives in a committed step; everyone but the straggler waits for it.', ['worker', 'rank']);
  private readonly epochs = this.registry.counter('instructue_membership_epochs_total', 'Membership epochs formed: the first, then one after every pause for a resize and every rollback.');
  private readonly rollbacks = this.registry.counter('instructue_rollbacks_total', 'Epochs abandoned between step boundaries and restarted from the last committed step, by cause: fault (a collective failed), lost (a worker went silent), rejoined (a member restarted or joined again).', ['cause']);
  private readonly rewinds = this.registry.counter('instructue_rewinds_total', 'Restarts from a checkpoint older than the committed step, because no survivor held the committed state.');
  private readonly rewoundSteps = this.registry.counter('instructue_rewound_steps_total', 'Committed steps given up by rewinds (they are trained again).');
  private readonly losses = this.registry.counter('instructue_worker_losses_total', 'Times a worker was dropped as lost (silent past dist.worker_timeout_ms).', ['worker']);
  private readonly rejoins = this.registry.counter('instructue_worker_rejoins_total', 'Times a worker this coordinator knew was admitted again (after it was lost, restarted or left its epoch).', ['worker']);
  private readonly retransmits = this.registry.counter('instructue_collective_retransmit_requests_total', 'Requests a rank sent to resend collective chunks it missed.', ['worker', 'rank']);
  private readonly collectiveAborts = this.registry.counter('instructue_collective_aborts_total', 'Collective calls that failed on a rank, by reason: timeout (past dist.collective_timeout_ms) or aborted (a peer gave up, a new epoch, bad input).', ['worker', 'rank', 'reason']);
  private readonly sentBytes = this.registry.counter('instructue_collective_sent_bytes_total', 'Bytes of collective chunks a rank published (a fan-out counts once).', ['worker', 'rank']);
  private readonly receivedBytes = this.registry.counter('instructue_collective_received_bytes_total', 'Bytes of collective chunks a rank received, duplicates included.', ['worker', 'rank']);
  private readonly checkpoints = this.registry.counter('instructue_checkpoints_total', 'Checkpoints rank 0 published and the coordinator recorded.');
  private readonly checkpointBytes = this.registry.counter('instructue_checkpoint_written_bytes_total', 'Bytes of the files of the recorded checkpoints.');
  private readonly checkpointSeconds = this.registry.histogram('instructue_checkpoint_duration_seconds', 'Time rank 0 took to encode, write, hash and publish a checkpoint.');
  private readonly resumeCount = this.registry.counter('instructue_resumes_total', 'Times this job was resumed (--resume, or a new coordinator after one died); kept in the job record, so it carries over coordinator restarts.');

  /** Last collective figures of each worker process, to turn them into increments. */
  private readonly lastCounts = new Map<string, { pid: number | undefined; counts: CollectiveCounts }>();
  /** Worker ids this coordinator has admitted (a later admission is a re-join). */
  private readonly admitted = new Set<string>();
  private readonly countedCheckpoints: string[] = [];

  constructor() {
    // Series with a fixed set of label values exist from the start, at 0 (a rate of 0, not "no data").
    for (const cause of Object.values(ROLLBACK_CAUSES)) this.rollbacks.inc({ cause }, 0);
  }

  /** Called once at start: how often the job was resumed, this start included. */
  startedWithResumes(resumes: number): void {
    this.resumeCount.inc({}, resumes);
  }

  /** How often the job was resumed (written to the job record). */
  get resumes(): number {
    return this.resumeCount.value();
  }

  families(): MetricFamily[] {
    return this.registry.families();
  }

  record(d: DecisionRecord): void {
    const { event, message, before, after } = d;
    if (event.kind === 'step.done') this.collectiveFigures(event.report.workerId, event.report.rank, event.report.collectives, after);
    if (after.epoch > before.epoch) this.epochs.inc({}, after.epoch - before.epoch);
    const cause = ROLLBACK_CAUSES[event.kind];
    if (cause && before.current && after.current?.epoch !== before.current.epoch) this.rollbacks.inc({ cause });
    for (const m of after.members) if (m.lost && !findMember(before.members, m.id)?.lost) this.losses.inc({ worker: m.id });
    if (event.kind === 'join' && d.actions.some((a) => a.kind === 'join.reply' && a.ok)) this.admittedAgain(event, before);
    for (const a of d.actions) {
      if (a.kind === 'commit') this.committed(a);
      else if (a.kind === 'rewind') {
        this.rewinds.inc();
        this.rewoundSteps.inc({}, Math.max(0, before.committed.step - a.step));
      } else if (a.kind === 'checkpoint' && event.kind === 'checkpoint.saved') this.checkpointRecorded(event.epoch, a.checkpoint.step, message);
    }
  }

  private committed(a: Extract<MembershipAction, { kind: 'commit' }>): void {
    this.steps.inc();
    for (const r of a.reports) {
      const labels = { worker: r.workerId, rank: String(r.rank) };
      this.samples.inc({}, r.ids.length);
      this.tokens.inc({}, r.tokens ?? 0);
      this.computeSeconds.observe(labels, r.computeMs / 1000);
      this.waitSeconds.observe(labels, r.waitMs / 1000);
    }
    const m = a.metrics;
    if (!m) return;
    if (typeof m.step_ms === 'number') this.stepSeconds.observe({}, m.step_ms / 1000);
    for (const [key, phase] of Object.entries(PHASES)) {
      const ms = m[`${key}_ms`];
      if (typeof ms === 'number') this.phaseSeconds.observe({ phase }, ms / 1000);
    }
  }

  private collectiveFigures(worker: string, rank: number, counts: CollectiveCounts | undefined, view: JobView): void {
    if (!counts) return;
    const pid = findMember(view.members, worker)?.pid;
    const last = this.lastCounts.get(worker);
    const keys = Object.keys(counts) as Array<keyof CollectiveCounts>;
    const decreased = last !== undefined && keys.some((k) => counts[k] < last.counts[k]);
    const pidsKnown = last !== undefined && pid !== undefined && last.pid !== undefined;
    // An older report of the same process (events arrive in order, but be safe) adds nothing.
    if (decreased && pidsKnown && pid === last.pid) return;
    // Another process under the same id (a restart) starts its figures from 0.
    const fresh = !last || (pidsKnown && pid !== last.pid) || decreased;
    const delta = (k: keyof CollectiveCounts) => counts[k] - (fresh ? 0 : last.counts[k]);
    this.lastCounts.set(worker, { pid, counts: { ...counts } });
    const labels = { worker, rank: String(rank) };
    this.retransmits.inc(labels, delta('retransmitRequests'));
    this.collectiveAborts.inc({ ...labels, reason: 'timeout' }, delta('timeouts'));
    this.collectiveAborts.inc({ ...labels, reason: 'aborted' }, delta('aborts'));
    this.sentBytes.inc(labels, delta('bytesSent'));
    this.receivedBytes.inc(labels, delta('bytesReceived'));
  }

  /** A join of an id seen before counts as a re-join, unless it repeats the join of a live member that never left (a retried request). */
  private admittedAgain(e: Extract<MembershipEvent, { kind: 'join' }>, before: JobView): void {
    const known = findMember(before.members, e.id);
    const repeated = known && !known.lost && known.pid === e.pid && known.host === e.host && !before.current?.order.includes(e.id);
    if (this.admitted.has(e.id) && !repeated) this.rejoins.inc({ worker: e.id });
    this.admitted.add(e.id);
  }

  private checkpointRecorded(epoch: number, step: number, message: WorkerEvent | undefined): void {
    const key = `${epoch}/${step}`;
    if (this.countedCheckpoints.includes(key)) return;
    this.countedCheckpoints.push(key);
    if (this.countedCheckpoints.length > REMEMBERED_CHECKPOINTS) this.countedCheckpoints.shift();
    this.checkpoints.inc();
    if (message?.type !== 'checkpoint.saved') return;
    if (message.bytes !== undefined) this.checkpointBytes.inc({}, message.bytes);
    if (message.saveMs !== undefined) this.checkpointSeconds.observe({}, message.saveMs / 1000);
  }
}
