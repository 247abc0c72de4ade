/**
 * CPU time of other processes (by PID, from /proc/PID/stat on Linux), for benchmarks that
 * divide the work per byte between their own processes and a server: user and system time in
 * ms. Undefined where /proc is not there (the figure is then left out, not guessed).
 */
import { readFileSync } from 'node:fs';

export interface ProcCpu {
  user: number;
  system: number;
}

/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

export function procCpu(pid: number): ProcCpu | undefined {
  try {
    // Fields after the command name (which may contain spaces) start at the state, field 3.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { user: (Number(fields[11]) * 1000) / TICKS_PER_SECOND, system: (Number(fields[12]) * 1000) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** Sum over `pids` of CPU ms spent between two snapshots. */
export function cpuBetween(before: Array<ProcCpu | undefined>, after: Array<ProcCpu | undefined>): number | undefined {
  let total = 0;
  for (let i = 0; i < before.length; i++) {
    const a = before[i];
    const b = after[i];
    if (!a || !b) return undefined;
    total += b.user - a.user + (b.system - a.system);
  }
  return total;
}
