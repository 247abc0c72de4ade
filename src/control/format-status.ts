/**
 * @module control/format-status
 * The human form of a JobStatus printed by `instructue status`: a summary of the job and its
 * last step, then one row per worker with its rank, state and where its last step went
 * (computing vs waiting in collectives: the straggler shows as the one that waits least).
 */
import type { JobStatus } from './status.js';

/** Multi-line text for a terminal; `now` (epoch ms) makes "last seen" deterministic in tests. */
export function formatStatus(s: JobStatus, now: number = Date.now()): string {
  const last = s.last ?? {};
  const pct = s.totalSteps > 0 ? ` (${Math.floor((100 * s.step) / s.totalSteps)}%)` : '';
  const active = s.workers.filter((w) => w.state === 'training' || w.state === 'joining').length;
  const lines = [
    `job ${s.job}: ${s.state}, step ${s.step}/${s.totalSteps}${pct}, membership epoch ${s.epoch}, workers ${active}/${s.targetWorkers}`,
    `loss ${num(last.loss)} (lm ${num(last.loss_lm)}, cl ${num(last.loss_cl)}), lr ${sci(last.lr)}, tokens/s ${int(last.tokens_per_s)}, data epoch ${int(last.epoch)}`,
    `started ${s.startedAt}`,
  ];
  if (s.reason) lines.push(`reason: ${s.reason}`);
  lines.push('', table(
    ['worker', 'rank', 'state', 'step', 'compute ms', 'wait ms', 'backend', 'host:pid', 'last seen'],
    s.workers.map((w) => [w.id, w.rank === null ? '-' : String(w.rank), w.state, String(w.step), int(w.computeMs), int(w.waitMs), w.backend, `${w.host}:${w.pid}`, ago(now - w.lastSeen)]),
  ));
  const ckpt = s.checkpoints.reduce<JobStatus['checkpoints'][number] | null>((a, c) => (a === null || c.step > a.step ? c : a), null);
  lines.push('', ckpt ? `last checkpoint: step ${ckpt.step} at ${ckpt.path} (${ckpt.savedAt})` : 'last checkpoint: none yet');
  return lines.join('\n');
}

/** Left-aligned columns separated by two spaces. */
function table(header: string[], rows: string[][]): string {
  if (rows.length === 0) return 'no workers yet';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function num(v: number | null | undefined): string {
  return v === null || v === undefined ? '-' : v.toFixed(4);
}

function sci(v: number | null | undefined): string {
  return v === null || v === undefined ? '-' : v.toExponential(2);
}

function int(v: number | null | undefined): string {
  return v === null || v === undefined ? '-' : String(Math.round(v));
}

function ago(ms: number): string {
  if (ms < 1000) return 'now';
  if (ms < 120_000) return `${Math.round(ms / 1000)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}
