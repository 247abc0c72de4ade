/**
 * Preflight (B8, B11): worker counts and the memory estimate are checked before anything is
 * built or started, with real `instructue train` processes; the estimate's parameter count is
 * the built model's; the memory limit is read from cgroup v2/v1 files (real files in a temp
 * folder laid out like /proc and /sys/fs/cgroup); SIGTERM while the model builds ends the
 * process at once.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { findTabularSchema, readTabularSchema } from '../../src/data/tabular-file.js';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { buildRunModel } from '../../src/train/run-model.js';
import { checkLocalWorkers, checkMemory, maxLocalWorkers, memoryLimit } from '../../src/train/preflight.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

const bin = join(process.cwd(), 'bin', 'instructue.js');
const env = { ...process.env, INSTRUCTUE_LOG_LEVEL: 'warn' };
/** The 3.2B-parameter overrides of the fault study (B11). */
const B11 = ['--set', 'model.decoder.hidden=4096', '--set', 'model.decoder.layers=16', '--set', 'model.decoder.intermediate=11008', '--set', 'model.decoder.heads=32', '--set', 'model.decoder.kv_heads=8'];

describe('preflight', () => {
  let data: SynthData;
  let root: string;
  before(() => {
    data = synthData(40, 9, 5);
    root = mkdtempSync(join(tmpdir(), 'instructue-preflight-'));
  });
  after(() => {
    data.remove();
    rmSync(root, { recursive: true, force: true });
  });

  const train = (out: string, extra: string[]) => spawnSync(process.execPath, [bin, 'train', '--config', 'configs/tiny.json', '--out', out, '--data', data.train, '--steps', '2', '--backend', 'cpu', ...extra], { encoding: 'utf8', env, timeout: 120_000 });

  it('B11: the 3.2B-parameter overrides are refused before anything is built, naming estimate, limit and keys', () => {
    const out = join(root, 'b11');
    const started = Date.now();
    const run = train(out, [...B11, '--set', 'train.memory_limit_mb=3815']);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(run.status, 2, run.stderr);
    // Qwen2 blocks: 2 norms, q/k/v with bias (GQA: k, v are 8 × 128 wide), o without, SwiGLU; + final norm.
    const h = 4096, kv = 8 * 128, i = 11008;
    const layers = 16 * (2 * h + (h * h + h) + 2 * (h * kv + kv) + h * h + 3 * h * i) + h;
    assert.equal((layers / 1e9).toFixed(2), '2.84');
    assert.match(run.stderr.trim(), new RegExp(
      '^instructue: this configuration needs about [\\d.]+ GiB of memory, more than the 3\\.7 GiB this process may use \\(train\\.memory_limit_mb\\)\\. '
      + 'Estimate per process: weights 10\\.6 GiB \\(2\\.85 B parameters: decoder layers 2\\.84 B, .*activations of one micro-batch of \\d+ × \\d+ tokens [\\d.]+ GiB, .*'
      + 'To fit: a smaller model \\(model\\.decoder\\.hidden, model\\.decoder\\.layers, model\\.decoder\\.intermediate, .*train\\.micro_batch.*skip this check with --set train\\.memory_check=false\\.$'));
    assert.ok(!existsSync(out), 'nothing was written: not even the run folder');
    // B11 ran 7.5 minutes before failing; the preflight answers within the CLI's own start-up.
    assert.ok(seconds < 30, `${seconds} s`);
  });

  it('the check itself is cheap: refuses in-process in well under a second, and memory_check=false skips it', async () => {
    const config = loadConfig({ file: 'configs/tiny.json', sets: [...B11.filter((_, k) => k % 2 === 1), 'train.memory_limit_mb=3815'], overrides: { 'data.train': data.train }, env: {} });
    const t0 = performance.now();
    await assert.rejects(checkMemory(config, { processes: 1, worldSize: 1, log: silentLogger }), ConfigError);
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
    const off = loadConfig({ file: 'configs/tiny.json', sets: [...B11.filter((_, k) => k % 2 === 1), 'train.memory_limit_mb=3815', 'train.memory_check=false'], overrides: { 'data.train': data.train }, env: {} });
    const passed = await checkMemory(off, { processes: 1, worldSize: 1, log: silentLogger });
    assert.ok(passed.needBytes > passed.limit.bytes);
  });

  it('the estimate counts exactly the parameters the build makes (tiny preset)', async () => {
    const config = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.train': data.train, backend: 'cpu' }, env: {} });
    const { estimate } = await checkMemory(config, { processes: 1, worldSize: 1, log: silentLogger });
    const built = await buildRunModel(config, readTabularSchema(findTabularSchema(config.data.train, '')), silentLogger);
    try {
      const store = built.model.store;
      assert.deepEqual([estimate.parameters.total, estimate.parameters.trainable], [store.trainableCount() + store.frozenCount(), store.trainableCount()]);
    } finally {
      built.model.dispose();
    }
  });

  it('the launcher checks the memory of all its workers before starting any', async () => {
    const config = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.train': data.train }, env: {} });
    const one = await checkMemory(config, { processes: 1, worldSize: 4, log: silentLogger });
    // Room for 2 workers of this size, not for 4.
    const mb = Math.floor((2.5 * one.estimate.bytes.total) / 2 ** 20);
    const out = join(root, 'four');
    const run = train(out, ['--workers', '4', '--set', `train.memory_limit_mb=${mb}`]);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr.trim(), /^instructue: this configuration needs about [\d.]+ GiB of memory \(4 local workers × [\d.]+ GiB, and the launcher\), more than the [\d.]+ GiB this process may use \(train\.memory_limit_mb\)\. .*or fewer local workers \(--workers\); set train\.memory_limit_mb/);
    assert.ok(!existsSync(out), 'no nats-server, coordinator or worker was started (no run folder)');
  });

  it('B8: --workers above data.virtual_shards exits 2 with the message before anything starts', () => {
    const out = join(root, 'shards');
    const run = train(out, ['--workers', '3', '--set', 'data.virtual_shards=2']);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /dist\.workers \(3\) must not exceed data\.virtual_shards \(2\); raise data\.virtual_shards/);
    assert.ok(!existsSync(out));
  });

  it('B8: --workers above dist.max_local_workers exits 2 naming the key; the default is 4 × CPUs, at least 8', () => {
    const out = join(root, 'many');
    const run = train(out, ['--workers', '5', '--set', 'dist.max_local_workers=4']);
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stderr.trim(), 'instructue: --workers 5 would start 5 training processes on this machine, more than 4 (dist.max_local_workers); each holds its own model copy and backend threads. Use fewer workers, or raise dist.max_local_workers if this machine can carry them.');
    assert.ok(!existsSync(out));
    const config = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.virtual_shards': 4096 }, env: {} });
    const auto = Math.max(8, 4 * availableParallelism());
    assert.equal(maxLocalWorkers(config), auto);
    assert.throws(() => checkLocalWorkers(config, auto + 1), new RegExp(`more than ${auto} \\(dist\\.max_local_workers \\(0 = 4 × ${availableParallelism()} CPUs, at least 8\\)\\)`));
    assert.doesNotThrow(() => checkLocalWorkers(config, auto));
    assert.throws(() => checkLocalWorkers(config, 0), /at least 1/);
  });

  it('memoryLimit: the tightest of cgroup v2 memory.max up the tree, cgroup v1 memory.limit_in_bytes, and RAM', () => {
    const fake = mkdtempSync(join(root, 'cgroup-'));
    const write = (path: string, text: string) => {
      mkdirSync(join(fake, path, '..'), { recursive: true });
      writeFileSync(join(fake, path), text);
    };
    const roots = { proc: join(fake, 'proc'), cgroup: join(fake, 'sys'), totalMemory: 64 * 2 ** 30 };
    // No cgroup file at all: the RAM.
    assert.deepEqual(memoryLimit(roots), { bytes: 64 * 2 ** 30, source: 'total RAM' });
    // v2: the job's own cgroup says max, its parent 2 GiB.
    write('proc/self/cgroup', '0::/kubepods/pod1/job\n');
    write('sys/kubepods/pod1/job/memory.max', 'max\n');
    write('sys/kubepods/pod1/memory.max', `${2 * 2 ** 30}\n`);
    write('sys/memory.max', 'max\n');
    assert.deepEqual(memoryLimit(roots), { bytes: 2 * 2 ** 30, source: `cgroup v2 ${join(fake, 'sys/kubepods/pod1/memory.max')}` });
    // v1: "no limit" is a huge number; a real one wins.
    write('proc/self/cgroup', '4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n');
    write('sys/memory/docker/abc/memory.limit_in_bytes', '9223372036854771712\n');
    assert.deepEqual(memoryLimit(roots), { bytes: 64 * 2 ** 30, source: 'total RAM' });
    write('sys/memory/memory.limit_in_bytes', `${2 ** 30}\n`);
    assert.deepEqual(memoryLimit(roots), { bytes: 2 ** 30, source: `cgroup v1 ${join(fake, 'sys/memory/memory.limit_in_bytes')}` });
    // This machine: a positive figure no larger than its RAM.
    const here = memoryLimit();
    assert.ok(here.bytes > 0 && here.bytes <= totalmem(), JSON.stringify(here));
  });

  it('B11: SIGTERM while the model is being built ends the process at once (default action, exit status 143)', async () => {
    const out = join(root, 'sigterm');
    // ~120 M parameters built at random: seconds of synchronous work on this machine class.
    const child = spawn(process.execPath, [bin, 'train', '--config', 'configs/tiny.json', '--out', out, '--data', data.train, '--steps', '2', '--backend', 'cpu', '--json',
      '--set', 'model.decoder.hidden=1024', '--set', 'model.decoder.layers=8', '--set', 'model.decoder.intermediate=4096', '--set', 'model.decoder.heads=16', '--set', 'model.decoder.kv_heads=4'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, INSTRUCTUE_LOG_LEVEL: 'info' } });
    let stderr = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stderr!.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          // Logged just before the data set opens and the model is built.
          if (stderr.includes('"backend selected"')) resolve();
        });
        void exited.then(() => reject(new Error(`exited before building: ${stderr}`)));
      });
      const signalled = Date.now();
      child.kill('SIGTERM');
      const { code, signal } = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still running 20 s after SIGTERM')), 20_000))]);
      assert.deepEqual({ code, signal }, { code: null, signal: 'SIGTERM' });
      assert.ok(!stderr.includes('"training session ready"'), 'the build had not finished: the signal cut it short');
      assert.ok(Date.now() - signalled < 20_000);
      assert.ok(!existsSync(join(out, 'metrics.jsonl')));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  });
});
