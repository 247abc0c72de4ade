/**
 * @module coordinator/members
 * The worker table: who joined, when they were last heard from, and their figures. Rank order
 * for a new epoch puts survivors of the previous epoch first (in their old order, so rank 0
 * holds the state to broadcast), then newcomers by join time.
 */
import type { WorkerStatus } from '../control/status.js';

export interface Member {
  id: string;
  host: string;
  pid: number;
  backend: string;
  joinedAt: number;
  lastSeen: number;
  step: number;
  computeMs: number;
  waitMs: number;
  leaving: boolean;
  lost: boolean;
}

export class MemberTable {
  private readonly members = new Map<string, Member>();

  /** Adds or refreshes a worker; a known id with another pid/host is a new process (returns true). */
  join(id: string, host: string, pid: number, backend: string, now: number): { member: Member; replaced: boolean } {
    const known = this.members.get(id);
    const replaced = Boolean(known && (known.pid !== pid || known.host !== host));
    if (known && !replaced && !known.lost) {
      known.lastSeen = now;
      return { member: known, replaced: false };
    }
    const member: Member = { id, host, pid, backend, joinedAt: now, lastSeen: now, step: 0, computeMs: 0, waitMs: 0, leaving: false, lost: false };
    this.members.set(id, member);
    return { member, replaced };
  }

  get(id: string): Member | undefined {
    return this.members.get(id);
  }

  seen(id: string, now: number): void {
    const m = this.members.get(id);
    if (m) m.lastSeen = now;
  }

  remove(id: string): void {
    this.members.delete(id);
  }

  /** Members silent for longer than `timeoutMs`, marked lost. */
  expire(now: number, timeoutMs: number): Member[] {
    const lost: Member[] = [];
    for (const m of this.members.values()) {
      if (!m.lost && now - m.lastSeen > timeoutMs) {
        m.lost = true;
        lost.push(m);
      }
    }
    return lost;
  }

  /** Live, non-leaving members. */
  available(): Member[] {
    return [...this.members.values()].filter((m) => !m.lost && !m.leaving);
  }

  /** Epoch order: survivors of `previous` first (old order), then newcomers by join time; at most `limit`. */
  order(previous: string[], limit: number): string[] {
    const live = new Set(this.available().map((m) => m.id));
    const survivors = previous.filter((id) => live.has(id));
    const newcomers = this.available()
      .filter((m) => !previous.includes(m.id))
      .sort((a, b) => a.joinedAt - b.joinedAt || a.id.localeCompare(b.id))
      .map((m) => m.id);
    return [...survivors, ...newcomers].slice(0, limit);
  }

  statuses(rankOf: (id: string) => number | null, stateOf: (m: Member) => WorkerStatus['state']): WorkerStatus[] {
    return [...this.members.values()].map((m) => ({
      id: m.id, rank: rankOf(m.id), state: stateOf(m), host: m.host, pid: m.pid, backend: m.backend,
      step: m.step, computeMs: m.computeMs, waitMs: m.waitMs, lastSeen: m.lastSeen,
    }));
  }
}
