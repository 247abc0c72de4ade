/**
 * `instructue train` as a real child process on real synthetic data: losses fall, a run killed
 * with SIGKILL and resumed ends with exactly the weights and sample order of an uninterrupted
 * run, a corrupt checkpoint is skipped with a warning, and a changed config is refused.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stepName } from '../../src/checkpoint/store.js';
import { TRAINABLE_FILE } from '../../src/train/checkpoint.js';
import { parseSafetensors } from '../../src/weights/safetensors.js';
import { readJsonLines } from '../../src/train/run-dir.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

const bin = join(process.cwd(), 'bin', 'instructue.js');
const STEPS = 12;

function trainArgs(out: string, data: string, extra: string[] = []): string[] {
  return [bin, 'train', '--config', 'configs/tiny.json', '--out', out, '--data', data, '--steps', String(STEPS), '--backend', 'wasm', '--set', 'train.checkpoint_every=4', '--json', ...extra];
}

function trainSync(out: string, data: string, extra: string[] = []) {
  const run = spawnSync(process.execPath, trainArgs(out, data, extra), { encoding: 'utf8', env: { ...process.env, INSTRUCTUE_LOG_LEVEL: 'warn' } });
  return run;
}

function weightsAt(out: string, step: number): Map<string, Float32Array> {
  const bytes = readFileSync(join(out, 'checkpoints', stepName(step), TRAINABLE_FILE));
  const parsed = parseSafetensors(bytes, TRAINABLE_FILE);
  return new Map([...parsed.tensors].map(([k, t]) => [k, t.data as Float32Array]));
}

interface Consumed { epoch: number; step: number; rank: number; ids: string[] }

describe('instructue train (single process)', () => {
  let data: SynthData;
  let root: string;
  before(() => {
    data = synthData(300, 21);
    root = mkdtempSync(join(tmpdir(), 'instructue-runs-'));
  });
  after(() => {
    data.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('kill -9 mid-run then --resume ends with the weights and sample order of an uninterrupted run', async () => {
    const reference = join(root, 'reference');
    const ref = trainSync(reference, data.train);
    assert.equal(ref.status, 0, ref.stderr);

    const killed = join(root, 'killed');
    const child = spawn(process.execPath, trainArgs(killed, data.train), { stdio: 'ignore', env: { ...process.env, INSTRUCTUE_LOG_LEVEL: 'warn' } });
    // Wait until step 6 is logged (a checkpoint exists at step 4), then SIGKILL.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const steps = readJsonLines<{ step: number }>(join(killed, 'metrics.jsonl')).map((l) => l.step);
        if (steps.includes(6)) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', (code) => {
        clearInterval(timer);
        if (code !== null) reject(new Error(`run ended by itself (code ${code}) before it could be killed`));
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok(!existsSync(join(killed, 'checkpoints', stepName(STEPS))), 'the killed run must not have finished');

    const resumed = trainSync(killed, data.train, ['--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    const a = weightsAt(reference, STEPS);
    const b = weightsAt(killed, STEPS);
    assert.deepEqual([...a.keys()], [...b.keys()]);
    let maxDiff = 0;
    for (const [name, values] of a) values.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - b.get(name)![i]!))));
    assert.ok(maxDiff <= 1e-6, `max abs weight difference ${maxDiff}`);

    const order = (run: string) => readJsonLines<Consumed>(join(run, 'consumed.jsonl')).map((l) => `${l.step}:${l.ids.join(',')}`);
    assert.deepEqual(order(killed), order(reference));
    assert.equal(order(reference).length, STEPS);
    assert.deepEqual(readJsonLines<{ step: number }>(join(killed, 'metrics.jsonl')).map((l) => l.step), Array.from({ length: STEPS }, (_, i) => i + 1));
  });

  it('a checkpoint with one flipped byte is detected and the previous one is used, with a warning', () => {
    const run = join(root, 'corrupt');
    assert.equal(trainSync(run, data.train, ['--set', 'train.steps=8']).status, 0);
    const file = join(run, 'checkpoints', stepName(8), TRAINABLE_FILE);
    const bytes = readFileSync(file);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01;
    writeFileSync(file, bytes);
    const resumed = trainSync(run, data.train, ['--resume', '--set', 'train.steps=8']);
    assert.equal(resumed.status, 0, resumed.stderr);
    const warning = resumed.stderr.split('\n').filter((l) => l.includes('checkpoint is corrupt')).map((l) => JSON.parse(l));
    assert.equal(warning.length, 1);
    assert.equal(warning[0].step, 8);
    assert.match(warning[0].reason, /trainable\.safetensors does not match its sha256/);
    // Resumed from step 4: the log was cut back to 4 and steps 5–8 were recomputed once.
    const consumedSteps = readJsonLines<Consumed>(join(run, 'consumed.jsonl')).map((l) => l.step);
    assert.deepEqual(consumedSteps, [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('refuses to resume with a changed configuration unless allowed', () => {
    const run = join(root, 'changed');
    assert.equal(trainSync(run, data.train, ['--set', 'train.steps=4']).status, 0);
    const refused = trainSync(run, data.train, ['--resume', '--set', 'train.steps=4', '--set', 'train.tau=0.2']);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /different configuration.*--allow-config-change/);
    const allowed = trainSync(run, data.train, ['--resume', '--set', 'train.steps=4', '--set', 'train.tau=0.2', '--allow-config-change']);
    assert.equal(allowed.status, 0, allowed.stderr);
  });
});
