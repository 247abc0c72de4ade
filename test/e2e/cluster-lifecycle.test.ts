/**
 * Whole-process lifecycle of a distributed run, through the real CLI: SIGTERM to the local
 * launcher (every rank stops at the same step, one checkpoint, exit 0; --resume finishes with
 * the weights of an uninterrupted run), and a coordinator killed with SIGKILL and restarted
 * (it resumes from the job record in JetStream KV and the newest checkpoint).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readJsonLines } from '../../src/train/run-dir.js';
import { assertExactlyOnce, weightDiff, weights } from '../helpers/cluster.js';
import { childrenOf, stillRunning } from '../helpers/processes.js';
import { startTestNats } from '../helpers/nats.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

const bin = join(process.cwd(), 'bin', 'instructue.js');
const STEPS = 14;
const FAST_FAULTS = ['--set', 'dist.collective_timeout_ms=5000', '--set', 'dist.heartbeat_ms=300', '--set', 'dist.worker_timeout_ms=3000', '--set', 'train.checkpoint_every=4', '--backend', 'wasm'];

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, INSTRUCTUE_LOG_LEVEL: 'warn' } });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

/** Resolves once RUN/metrics.jsonl shows `step` committed. */
async function untilStep(run: string, step: number, child: ChildProcess): Promise<void> {
  for (;;) {
    if (readJsonLines<{ step: number }>(join(run, 'metrics.jsonl')).some((l) => l.step >= step)) return;
    if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before step ${step}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const checkpointSteps = (run: string) => readdirSync(join(run, 'checkpoints')).filter((n) => n.startsWith('step-')).map((n) => Number(n.slice(5))).sort((a, b) => a - b);

describe('distributed run lifecycle (CLI processes)', () => {
  let data: SynthData;
  let root: string;
  let reference: string;
  before(async () => {
    data = synthData(15, 41, 5);
    root = mkdtempSync(join(tmpdir(), 'instructue-lifecycle-'));
    reference = join(root, 'reference');
    const run = start(['train', '--workers', '2', '--config', 'configs/tiny.json', '--out', reference, '--data', data.train, '--steps', String(STEPS), '--json', ...FAST_FAULTS]);
    assert.equal(await exited(run), 0);
  });
  after(() => {
    data.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('SIGTERM to the launcher: every rank stops at one step with one checkpoint; --resume ends with the uninterrupted weights', async () => {
    const run = join(root, 'sigterm');
    const args = ['train', '--workers', '2', '--config', 'configs/tiny.json', '--out', run, '--data', data.train, '--steps', String(STEPS), '--json', ...FAST_FAULTS];
    const launcher = start(args);
    await untilStep(run, 5, launcher);
    launcher.kill('SIGTERM');
    assert.equal(await exited(launcher), 0, 'the launcher exits 0 after a checkpointed stop');
    const consumed = readJsonLines<{ step: number; rank: number }>(join(run, 'consumed.jsonl'));
    const stopStep = Math.max(...consumed.map((l) => l.step));
    assert.ok(stopStep >= 5 && stopStep < STEPS, `stopped at step ${stopStep}`);
    assert.deepEqual(consumed.filter((l) => l.step === stopStep).map((l) => l.rank).sort(), [0, 1], 'both ranks committed the stop step');
    assert.equal(checkpointSteps(run).at(-1), stopStep, 'the last checkpoint is the stop step');

    const resumed = start([...args, '--resume']);
    assert.equal(await exited(resumed), 0);
    assertExactlyOnce(run, 60);
    const diff = weightDiff(weights(run, STEPS), weights(reference, STEPS));
    assert.ok(diff.maxAbs <= 1e-6, `weights differ by ${diff.maxAbs}`);
  });

  it('SIGKILL to the launcher: within 10 s none of its workers or nats-servers runs; --resume ends exactly once with the uninterrupted weights', async () => {
    const run = join(root, 'sigkill');
    const args = ['train', '--workers', '2', '--config', 'configs/tiny.json', '--out', run, '--data', data.train, '--steps', String(STEPS), '--json', ...FAST_FAULTS];
    const launcher = start(args);
    await untilStep(run, 5, launcher);
    const children = childrenOf(launcher.pid!);
    assert.deepEqual(children.map((c) => c.command).sort(), ['nats-server', 'node', 'node'], 'the launcher runs one nats-server and two workers');
    launcher.kill('SIGKILL');
    await exited(launcher);
    const deadline = Date.now() + 10_000;
    while (children.some(stillRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const left = children.filter(stillRunning);
    for (const c of left) process.kill(c.pid, 'SIGKILL'); // started by this test (its launcher's children)
    assert.deepEqual(left, [], 'processes of the killed launcher still running after 10 s');

    const resumed = start([...args, '--resume']);
    assert.equal(await exited(resumed), 0);
    assertExactlyOnce(run, 60);
    const diff = weightDiff(weights(run, STEPS), weights(reference, STEPS));
    assert.equal(diff.maxAbs, 0, `weights differ from the uninterrupted run by ${diff.maxAbs}`);
  });

  it('a coordinator killed with SIGKILL and restarted resumes the job from KV and the latest checkpoint', async () => {
    const nats = await startTestNats({ jetstream: true });
    const children: ChildProcess[] = [];
    try {
      const run = join(root, 'coordinator-restart');
      const coordinatorArgs = ['coordinator', '--config', 'configs/tiny.json', '--out', run, '--nats', nats.url, '--workers', '2', '--set', `data.train=${data.train}`, '--set', `train.steps=${STEPS}`, ...FAST_FAULTS.filter((a) => a !== '--backend' && a !== 'wasm')];
      const first = start(coordinatorArgs);
      children.push(first);
      for (const id of ['a', 'b']) children.push(start(['worker', '--nats', nats.url, '--job', 'instructue', '--id', id]));
      await untilStep(run, 6, first);
      first.kill('SIGKILL');
      await exited(first);
      const second = start(coordinatorArgs);
      children.push(second);
      assert.equal(await exited(second), 0, 'the restarted coordinator finishes the job');
      for (const worker of children.slice(1, 3)) assert.equal(await exited(worker), 0, 'workers exit 0 when the job is done');
      assert.equal(Math.max(...readJsonLines<{ step: number }>(join(run, 'metrics.jsonl')).map((l) => l.step)), STEPS);
      assertExactlyOnce(run, 60);
      const diff = weightDiff(weights(run, STEPS), weights(reference, STEPS));
      assert.ok(diff.maxAbs <= 1e-6, `weights differ by ${diff.maxAbs}`);
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await nats.stop();
    }
  });

  it('bad data fails the launcher at once with a message naming the folder (it never waits for workers)', async () => {
    // data.dir holds train/ and eval/ but no .jsonl of its own.
    const launcher = spawn(process.execPath, [bin, 'train', '--workers', '1', '--config', 'configs/tiny.json', '--out', join(root, 'bad-data'), '--data', data.dir, '--json', ...FAST_FAULTS], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, INSTRUCTUE_LOG_LEVEL: 'warn' } });
    let stderr = '';
    launcher.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    assert.equal(await exited(launcher), 2, stderr);
    assert.match(stderr, new RegExp(`instructue: .*${data.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*\\.jsonl`));
  });

  it('a worker that exits with a usage error (code 2) is not restarted: the launcher exits 2 with its message', async () => {
    // Only the worker selects a backend: tfjs-node is not installed here, so "tensorflow" fails there.
    const run = join(root, 'bad-backend');
    const started = Date.now();
    const launcher = spawn(process.execPath, [bin, 'train', '--workers', '1', '--config', 'configs/tiny.json', '--out', run, '--data', data.train, '--json', ...FAST_FAULTS.filter((a) => a !== '--backend' && a !== 'wasm'), '--backend', 'tensorflow'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, INSTRUCTUE_LOG_LEVEL: 'warn' } });
    let stderr = '';
    launcher.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    assert.equal(await exited(launcher), 2, stderr);
    assert.ok(Date.now() - started < 60_000, 'it does not wait for a worker that cannot start');
    assert.match(stderr, /instructue: worker w0 exited with a usage, config or data error \(code 2\): .*backend "tensorflow" is not available/);
    assert.doesNotMatch(stderr, /starting a replacement/);
  });
});
