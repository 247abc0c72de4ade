/**
 * The run folder lock (B5): a second training into a busy --out is refused naming the holder,
 * with real `instructue train` processes (single process and local cluster) and the
 * `coordinator` program; stale locks (dead pid, reused pid, another host past its lease) are
 * taken over with a warning, fresh ones of another host refused.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunLockedError } from '../../src/errors.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { readJsonLines } from '../../src/train/run-dir.js';
import { acquireRunLock, commandLine, LOCK_FILE, pidStart, type LockHolder } from '../../src/train/run-lock.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

const bin = join(process.cwd(), 'bin', 'instructue.js');
const env = { ...process.env, INSTRUCTUE_LOG_LEVEL: 'warn' };

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  return { log: createLogger({}, { level: 'info', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }), lines };
}

function writeLock(dir: string, holder: Partial<LockHolder>): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  writeFileSync(path, JSON.stringify({ since: '2026-12-01T00:00:00.000Z', command: 'instructue train', token: 'old', bootId: null, pidStart: null, ...holder }) + '\n');
  return path;
}

/** A pid that is certainly not running: a child that already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

describe('run folder lock', () => {
  let root: string;
  let data: SynthData;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'instructue-lock-'));
    data = synthData(60, 3, 5);
  });
  after(() => {
    data.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('B5: a second `instructue train` into a busy --out exits 2 naming the holder; the first runs on alone', async () => {
    const out = join(root, 'busy');
    const args = ['train', '--config', 'configs/tiny.json', '--out', out, '--data', data.train, '--steps', '400', '--backend', 'wasm', '--json'];
    const first = spawn(process.execPath, [bin, ...args], { stdio: 'ignore', env });
    try {
      // Wait for the first step, so the second surely starts while the first trains.
      const deadline = Date.now() + 60_000;
      while (readJsonLines(join(out, 'metrics.jsonl')).length === 0) {
        assert.ok(Date.now() < deadline && first.exitCode === null, 'the first training did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
      const holder = JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')) as LockHolder;
      assert.equal(holder.pid, first.pid);
      assert.equal(holder.host, hostname());
      assert.equal(holder.command, `instructue ${args.join(' ')}`);
      const started = Date.now();
      const second = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 60_000 });
      assert.equal(second.status, 2, second.stderr);
      assert.equal(second.stderr.trim(), `instructue: run folder ${out} is in use by pid ${first.pid} on ${hostname()} since ${holder.since} (${holder.command}). Wait for it to finish, stop it (instructue stop, or kill -TERM ${first.pid}), or train into another --out.`);
      assert.ok(Date.now() - started < 20_000);
    } finally {
      first.kill('SIGTERM');
      await new Promise((r) => first.once('exit', r));
    }
    assert.equal(first.exitCode, 0);
    assert.ok(!existsSync(join(out, LOCK_FILE)), 'the lock is released on exit');
    // One training wrote the logs: steps 1..n once each.
    const steps = readJsonLines<{ step: number }>(join(out, 'consumed.jsonl')).map((l) => l.step);
    assert.deepEqual(steps, Array.from({ length: steps.length }, (_, i) => i + 1));
  });

  it('the local launcher and the coordinator program refuse a busy folder before starting anything', () => {
    const out = join(root, 'held');
    const lock = acquireRunLock(out, { log: silentLogger, command: 'the test' });
    try {
      const expected = `instructue: run folder ${out} is in use by pid ${process.pid} on ${hostname()} since ${lock.holder.since} (the test). Wait for it to finish, stop it (instructue stop, or kill -TERM ${process.pid}), or train into another --out.`;
      const cluster = spawnSync(process.execPath, [bin, 'train', '--workers', '1', '--config', 'configs/tiny.json', '--out', out, '--data', data.train, '--steps', '2'], { encoding: 'utf8', env, timeout: 60_000 });
      assert.equal(cluster.status, 2, cluster.stderr);
      assert.equal(cluster.stderr.trim(), expected);
      // No NATS at this address: were the lock not first, it would fail to connect instead.
      const coordinator = spawnSync(process.execPath, [bin, 'coordinator', '--config', 'configs/tiny.json', '--out', out, '--nats', 'nats://127.0.0.1:9'], { encoding: 'utf8', env, timeout: 60_000 });
      assert.equal(coordinator.status, 2, coordinator.stderr);
      assert.equal(coordinator.stderr.trim(), expected);
      assert.equal(JSON.parse(readFileSync(lock.path, 'utf8')).token, lock.holder.token, 'the holder keeps its lock');
    } finally {
      lock.release();
    }
    assert.ok(!existsSync(join(out, LOCK_FILE)));
  });

  it('the same process cannot take its own folder twice', () => {
    const out = join(root, 'twice');
    const lock = acquireRunLock(out, { log: silentLogger, command: 'first' });
    try {
      assert.throws(() => acquireRunLock(out, { log: silentLogger }), (err: unknown) => err instanceof RunLockedError && err.code === 'RUN_LOCKED' && /this very process/.test(err.message));
    } finally {
      lock.release();
    }
  });

  it('a lock of a dead pid on this host is taken over with a warning', () => {
    const out = join(root, 'dead');
    const pid = deadPid();
    writeLock(out, { pid, host: hostname() });
    const { log, lines } = capture();
    const lock = acquireRunLock(out, { log });
    try {
      assert.equal(lock.holder.pid, process.pid);
      assert.deepEqual(lines.map((l) => [l.level, l.msg, l.pid, l.why]), [
        ['warn', 'taking over a stale run folder lock', pid, `pid ${pid} on ${hostname()} since 2026-12-01T00:00:00.000Z (instructue train): that process is gone`],
      ]);
    } finally {
      lock.release();
    }
  });

  it('a live pid that started after the lock was written is a reused pid: stale', () => {
    const out = join(root, 'reused');
    const start = pidStart(process.pid);
    assert.notEqual(start, null, 'this test needs /proc');
    writeLock(out, { pid: process.pid, host: hostname(), pidStart: start! - 1 });
    const { log, lines } = capture();
    acquireRunLock(out, { log }).release();
    assert.match(String(lines[0]?.why), /that process is gone \(pid \d+ now belongs to another process\)$/);
  });

  it('a lock of another boot of this host is stale', () => {
    const out = join(root, 'reboot');
    writeLock(out, { pid: process.pid, host: hostname(), bootId: 'another-boot' });
    const { log, lines } = capture();
    acquireRunLock(out, { log }).release();
    assert.match(String(lines[0]?.why), /the machine has restarted since$/);
  });

  it('another host: refused while its lease is fresh (naming how to clear it), taken over once it lapsed', () => {
    const out = join(root, 'remote');
    const path = writeLock(out, { pid: 4242, host: 'other-host' });
    assert.throws(() => acquireRunLock(out, { log: silentLogger, leaseMs: 60_000 }), (err: unknown) => {
      assert.ok(err instanceof RunLockedError);
      assert.match(err.message, new RegExp(`^run folder ${out} is in use by pid 4242 on other-host since 2026-12-01T00:00:00.000Z \\(instructue train\\), another host \\(lock renewed \\d+ s ago\\)\\. Stop that training or train into another --out\\. If it is gone \\(its machine or pod died\\), the lock lapses 60 s after its last renewal; or delete ${path} once you are sure nothing trains into this folder\\.$`));
      return true;
    });
    const old = (Date.now() - 120_000) / 1000;
    utimesSync(path, old, old);
    const { log, lines } = capture();
    acquireRunLock(out, { log, leaseMs: 60_000 }).release();
    assert.match(String(lines[0]?.why), /^pid 4242 on other-host .*: not renewed for 1[12]\d s \(lease 60 s\)$/);
  });

  it('the holder renews its lock in place (what keeps another host from taking it)', async () => {
    const out = join(root, 'renew');
    const lock = acquireRunLock(out, { log: silentLogger, renewMs: 50 });
    try {
      const text = readFileSync(lock.path, 'utf8');
      const old = (Date.now() - 600_000) / 1000;
      utimesSync(lock.path, old, old);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(Date.now() - statSync(lock.path).mtimeMs < 5_000, 'mtime renewed');
      assert.equal(readFileSync(lock.path, 'utf8'), text);
    } finally {
      lock.release();
    }
  });

  it('release leaves a lock that someone else took over alone', () => {
    const out = join(root, 'lost');
    const lock = acquireRunLock(out, { log: silentLogger });
    writeLock(out, { pid: 1, host: 'other-host', token: 'theirs' });
    lock.release();
    assert.equal(JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')).token, 'theirs');
  });

  it('the recorded command masks secret config values', () => {
    assert.equal(
      commandLine(['/usr/bin/node', '/x/bin/instructue.js', 'train', '--set', 'dist.nats_pass=hunter2', '--set=control.token=abc', '--set', 'train.lr=1']),
      'instructue train --set dist.nats_pass=*** --set=control.token=*** --set train.lr=1',
    );
  });
});
