/**
 * @module coordinator/status-view
 * The job's status as the outside world sees it (`instructue status`, the dashboard,
 * `/api/status`, `/metrics`): a projection of the coordinator's `JobView`.
 */
import type { JobStatus, MetricsLine, WorkerStatus } from '../control/status.js';
import type { Member } from './members.js';
import type { JobView } from './membership.js';

export interface StatusContext {
  job: string;
  totalSteps: number;
  last: MetricsLine | null;
  startedAt: string;
}

export function jobStatus(view: JobView, ctx: StatusContext): JobStatus {
  const epoch = view.current;
  const rankOf = (id: string) => {
    const r = epoch ? epoch.order.indexOf(id) : -1;
    return r >= 0 ? r : null;
  };
  const stateOf = (m: Member): WorkerStatus['state'] => (m.lost ? 'lost' : m.leaving ? 'left' : epoch?.paused[m.id] ? 'paused' : rankOf(m.id) !== null ? 'training' : 'joining');
  return {
    job: ctx.job, state: view.phase, epoch: view.epoch, step: view.committed.step, totalSteps: ctx.totalSteps, targetWorkers: view.target,
    workers: view.members.map((m) => ({
      id: m.id, rank: rankOf(m.id), state: stateOf(m), host: m.host, pid: m.pid, backend: m.backend,
      step: m.step, computeMs: m.computeMs, waitMs: m.waitMs, lastSeen: m.lastSeen,
    })),
    last: ctx.last, checkpoints: view.checkpoints.map(({ step, path, savedAt }) => ({ step, path, savedAt })), startedAt: ctx.startedAt, reason: view.reason,
  };
}
