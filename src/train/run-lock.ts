/**
 * @module train/run-lock
 * One training per run folder: `RUN/.lock` names its holder (pid, host, start time, command).
 * Taken once per process by whatever owns the folder — the single-process trainer, the local
 * launcher (whose coordinator runs in the same process), the `coordinator` program — and
 * released when it ends. A second training into a busy folder is refused with a
 * `RunLockedError` naming the holder and what to do.
 *
 * A lock left by a process that died is stale and taken over with a warning:
 * - same host (hostname and boot id): the pid is gone, or now belongs to a process that
 *   started later (pid reuse, compared by the kernel's start time of the pid);
 * - same hostname, other boot id: the machine restarted;
 * - another host (a shared folder, or a Kubernetes pod that was replaced): the holder renews the
 *   lock every `renewMs` by rewriting it in place, and a lock not renewed for `leaseMs` is
 *   stale. The age is read against a probe file written into the same folder just then, so
 *   both times come from one clock (the file server's, on NFS), not from two machines'.
 *
 * The lock is published with link(2) (atomic, fails if one exists; exclusive create where the
 * filesystem has no hard links), and a stale one is renamed aside and checked to still be the
 * one judged before it is removed, so two processes taking over at once cannot both win.
 */
import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { schemaLeaves } from '../config/schema-leaves.js';
import { RunLockedError } from '../errors.js';
import type { Logger } from '../log.js';

export const LOCK_FILE = '.lock';
/** How often a holder rewrites its lock (what another host sees as "alive"). */
export const LOCK_RENEW_MS = 15_000;
/**
 * A lock from another host not renewed for this long is stale. Long against the renewal (8
 * missed renewals), since the renewal runs on the event loop and a long synchronous step can
 * delay it; a replaced coordinator pod waits at most this long (its restarts retry).
 */
export const LOCK_LEASE_MS = 120_000;

/** What `RUN/.lock` holds. */
export interface LockHolder {
  pid: number;
  host: string;
  /** /proc/sys/kernel/random/boot_id (null where there is none). */
  bootId: string | null;
  /** The kernel's start time of `pid` in clock ticks since boot (null where unknown): tells pid reuse apart. */
  pidStart: number | null;
  /** ISO time the lock was taken. */
  since: string;
  command: string;
  /** Unique per acquisition: the holder recognises its own lock. */
  token: string;
}

export interface RunLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock if it is still this holder's (idempotent). */
  release(): void;
}

export interface RunLockOptions {
  log: Logger;
  /** Shown to whoever finds the folder busy (default: this process's command line, secrets masked). */
  command?: string;
  renewMs?: number;
  leaseMs?: number;
}

/**
 * Takes `runDir`'s lock (creating the folder).
 * @throws RunLockedError when a live holder has it, naming the holder and what to do
 */
export function acquireRunLock(runDir: string, opts: RunLockOptions): RunLock {
  mkdirSync(runDir, { recursive: true });
  const path = join(runDir, LOCK_FILE);
  const holder: LockHolder = {
    pid: process.pid, host: hostname(), bootId: bootId(), pidStart: pidStart(process.pid),
    since: new Date().toISOString(), command: opts.command ?? commandLine(process.argv), token: randomUUID(),
  };
  const text = JSON.stringify(holder) + '\n';
  for (let attempt = 0; attempt < 5; attempt++) {
    if (publish(path, text, holder.token)) return startHolding(path, holder, text, opts);
    const found = readLock(path);
    if (found === 'gone') continue;
    const verdict = judge(found, path, runDir, opts.leaseMs ?? LOCK_LEASE_MS);
    if (verdict.busy) throw new RunLockedError(verdict.message);
    if (removeIfUnchanged(path, found.raw, holder.token)) opts.log.warn('taking over a stale run folder lock', { lock: path, why: verdict.message, ...found.holder });
  }
  throw new RunLockedError(`could not take ${path}: other processes keep taking it; make sure only one training uses ${runDir}`);
}

/** The lock file's holder, or 'gone' if it vanished while read. */
function readLock(path: string): { raw: string; holder: Partial<LockHolder> | null; mtimeMs: number } | 'gone' {
  for (let tries = 0; ; tries++) {
    let raw: string;
    let mtimeMs: number;
    try {
      raw = readFileSync(path, 'utf8');
      mtimeMs = statSync(path).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
      throw err;
    }
    try {
      return { raw, holder: JSON.parse(raw) as Partial<LockHolder>, mtimeMs };
    } catch {
      // Exclusive create (no hard links) shows an empty file for a moment: look again.
      if (tries >= 20) return { raw, holder: null, mtimeMs };
      sleep(10);
    }
  }
}

type Verdict = { busy: boolean; message: string };

function judge(found: { holder: Partial<LockHolder> | null; mtimeMs: number }, path: string, runDir: string, leaseMs: number): Verdict {
  const h = found.holder;
  if (!h || typeof h.pid !== 'number' || typeof h.host !== 'string') {
    return { busy: true, message: `run folder ${runDir} has an unreadable lock file ${path}; if no training uses this folder, delete ${path} and start again` };
  }
  const who = `pid ${h.pid} on ${h.host} since ${h.since ?? '?'}${h.command ? ` (${h.command})` : ''}`;
  const myBoot = bootId();
  if (h.host === hostname()) {
    if (h.bootId && myBoot && h.bootId !== myBoot) return { busy: false, message: `${who}: the machine has restarted since` };
    if (!pidAlive(h.pid)) return { busy: false, message: `${who}: that process is gone` };
    const start = pidStart(h.pid);
    if (typeof h.pidStart === 'number' && start !== null && start !== h.pidStart) return { busy: false, message: `${who}: that process is gone (pid ${h.pid} now belongs to another process)` };
    const self = h.pid === process.pid ? ' (this very process: the folder is already being trained into here)' : '';
    return { busy: true, message: `run folder ${runDir} is in use by ${who}${self}. Wait for it to finish, stop it (instructue stop, or kill -TERM ${h.pid}), or train into another --out.` };
  }
  const age = probeNow(runDir) - found.mtimeMs;
  if (age > leaseMs) return { busy: false, message: `${who}: not renewed for ${Math.round(age / 1000)} s (lease ${leaseMs / 1000} s)` };
  return {
    busy: true,
    message: `run folder ${runDir} is in use by ${who}, another host (lock renewed ${Math.max(0, Math.round(age / 1000))} s ago). Stop that training or train into another --out. If it is gone (its machine or pod died), the lock lapses ${leaseMs / 1000} s after its last renewal; or delete ${path} once you are sure nothing trains into this folder.`,
  };
}

/** Publishes `text` at `path` unless a lock exists; true when this process now holds it. */
function publish(path: string, text: string, token: string): boolean {
  const tmp = `${path}.${token}.tmp`;
  writeFileSync(tmp, text);
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // No hard links on this filesystem: exclusive create instead.
    try {
      writeFileSync(path, text, { flag: 'wx' });
      return true;
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err2;
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Moves the stale lock aside and deletes it if it is still the one judged (`raw`); else puts it back. */
function removeIfUnchanged(path: string, raw: string, token: string): boolean {
  const aside = `${path}.${token}.stale`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (readFileSync(aside, 'utf8') === raw) {
    rmSync(aside, { force: true });
    return true;
  }
  // A new holder published between our read and the rename: give its lock back.
  try {
    linkSync(aside, path);
  } catch {
    // someone else published meanwhile; the loop reads whoever holds it now
  }
  rmSync(aside, { force: true });
  return false;
}

function startHolding(path: string, holder: LockHolder, text: string, opts: RunLockOptions): RunLock {
  let released = false;
  let lost = false;
  const ours = () => {
    try {
      return readFileSync(path, 'utf8') === text;
    } catch {
      return false;
    }
  };
  const renew = setInterval(() => {
    if (lost) return;
    if (!ours()) {
      lost = true;
      opts.log.error('run folder lock lost: another process took it over; two trainings may now write this folder', { lock: path });
      return;
    }
    // Rewrite the same bytes in place: a new mtime without a moment of an empty file.
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, text, 0);
    } finally {
      closeSync(fd);
    }
  }, opts.renewMs ?? LOCK_RENEW_MS);
  renew.unref();
  const release = () => {
    if (released) return;
    released = true;
    clearInterval(renew);
    process.off('exit', release);
    if (ours()) rmSync(path, { force: true });
  };
  // A process that exits without unwinding (process.exit) still leaves no lock behind.
  process.on('exit', release);
  return { path, holder, release };
}

/** The current time on the clock that stamps files in `dir`. */
function probeNow(dir: string): number {
  const probe = join(dir, `.lock-probe-${process.pid}-${randomUUID()}`);
  writeFileSync(probe, '');
  try {
    return statSync(probe).mtimeMs;
  } finally {
    rmSync(probe, { force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot); null where unknown. */
export function pidStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

/** `instructue train --out RUN …` with the values of secret config keys masked. */
export function commandLine(argv: readonly string[]): string {
  const secret = new Set(schemaLeaves().filter((l) => l.sensitive).map((l) => l.key));
  const words = [basename(argv[1] ?? 'node').replace(/\.js$/, ''), ...argv.slice(2)];
  return words.map((w) => {
    const prefix = w.startsWith('--set=') ? '--set=' : '';
    const item = w.slice(prefix.length);
    const eq = item.indexOf('=');
    return eq > 0 && secret.has(item.slice(0, eq)) ? `${prefix}${item.slice(0, eq)}=***` : w;
  }).join(' ');
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
