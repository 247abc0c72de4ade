/**
 * Processes by PID from /proc (Linux): the children of a process and whether one still runs.
 * A zombie counts as gone: it has exited, and in a container nobody may reap it.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  /** Start time in clock ticks since boot: with the PID, names one process even after PID reuse. */
  start: string;
  command: string;
}

function stat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    return { pid, state: fields[0]!, ppid: Number(fields[1]), start: fields[19]!, command: text.slice(text.indexOf('(') + 1, close) };
  } catch {
    return null;
  }
}

/** A process seen once: its PID and start time. */
export interface ProcessRef {
  pid: number;
  start: string;
  command: string;
}

/** The live children of `pid`. */
export function childrenOf(pid: number): ProcessRef[] {
  const out: ProcessRef[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s && s.ppid === pid && s.state !== 'Z') out.push({ pid: s.pid, start: s.start, command: s.command });
  }
  return out;
}

/** Whether the process `ref` names is still running (not exited, not a zombie, PID not reused). */
export function stillRunning(ref: ProcessRef): boolean {
  const s = stat(ref.pid);
  return s !== null && s.start === ref.start && s.state !== 'Z';
}
