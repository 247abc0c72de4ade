/**
 * @module coordinator/members
 * The worker table as plain data (part of the coordinator's `JobView`): who joined, from which
 * process, when they were last heard from, and their figures. Rank order for a new epoch puts
 * survivors of the previous epoch first (in their old order, so rank 0 holds the state to
 * broadcast), then newcomers by join time. Pure functions; `membership.ts` decides with them.
 */

export interface Member {
  id: string;
  host: string;
  pid: number;
  backend: string;
  joinedAt: number;
  lastSeen: number;
  /** Last step this worker reported done, and how long its last step computed and waited. */
  step: number;
  computeMs: number;
  waitMs: number;
  /** Asked to leave (SIGTERM): dropped at the next step boundary. */
  leaving: boolean;
  /** Silent past `dist.worker_timeout_ms`; it may come back and join again. */
  lost: boolean;
}

export type MemberTable = Member[];

export function newMember(id: string, host: string, pid: number, backend: string, now: number): Member {
  return { id, host, pid, backend, joinedAt: now, lastSeen: now, step: 0, computeMs: 0, waitMs: 0, leaving: false, lost: false };
}

export function findMember(table: MemberTable, id: string): Member | undefined {
  return table.find((m) => m.id === id);
}

/** Live, non-leaving members. */
export function available(table: MemberTable): Member[] {
  return table.filter((m) => !m.lost && !m.leaving);
}

/** Epoch order: survivors of `previous` first (old order), then newcomers by join time; at most `limit`. */
export function epochOrder(table: MemberTable, previous: readonly string[], limit: number): string[] {
  const live = available(table);
  const liveIds = new Set(live.map((m) => m.id));
  const survivors = previous.filter((id) => liveIds.has(id));
  const newcomers = live
    .filter((m) => !previous.includes(m.id))
    .sort((a, b) => a.joinedAt - b.joinedAt || a.id.localeCompare(b.id))
    .map((m) => m.id);
  return [...survivors, ...newcomers].slice(0, limit);
}
