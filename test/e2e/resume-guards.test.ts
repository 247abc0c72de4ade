/**
 * `instructue train --resume` (single process, real child processes) on data that changed since
 * the checkpoint (B7): refused with exit 2 and a message naming what changed; with
 * `--allow-data-change` it resumes, saying so. The checkpoint's state.json records the data.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stepName } from '../../src/checkpoint/store.js';
import { dataFingerprint } from '../../src/data/fingerprint.js';
import { STATE_FILE, type CheckpointMeta } from '../../src/train/checkpoint.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

const bin = join(process.cwd(), 'bin', 'instructue.js');

function train(out: string, data: string, extra: string[] = []) {
  return spawnSync(process.execPath, [bin, 'train', '--config', 'configs/tiny.json', '--out', out, '--data', data, '--steps', '2', '--backend', 'wasm', '--json', ...extra], {
    encoding: 'utf8', env: { ...process.env, INSTRUCTUE_LOG_LEVEL: 'warn' }, timeout: 120_000,
  });
}

describe('train --resume on changed data (single process)', () => {
  let synth: SynthData;
  let root: string;
  before(() => {
    synth = synthData(40, 5, 5);
    root = mkdtempSync(join(tmpdir(), 'instructue-resume-guards-'));
  });
  after(() => {
    synth.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('records the data fingerprint, refuses edited data (exit 2, what changed), and resumes with --allow-data-change', async () => {
    // A copy of the whole synth folder (train/ and the tabular-schema.json beside it).
    cpSync(synth.dir, join(root, 'set'), { recursive: true });
    const data = join(root, 'set', 'train');
    const out = join(root, 'run');
    const first = train(out, data);
    assert.equal(first.status, 0, first.stderr);
    const meta = JSON.parse(readFileSync(join(out, 'checkpoints', stepName(2), STATE_FILE), 'utf8')) as CheckpointMeta;
    assert.deepEqual(meta.data, await dataFingerprint(data));

    const file = join(data, 'part-00000.jsonl');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/"answer":"/g, '"answer":"TAMPERED '));
    const refused = train(out, data, ['--resume']);
    assert.equal(refused.status, 2, refused.stderr);
    const message = refused.stderr.split('\n').find((l) => l.startsWith('instructue: '));
    assert.match(message ?? refused.stderr, /^instructue: the training data changed since .*step-00000002 was written \(changed: part-00000\.jsonl \(\d+ → \d+ records, \d+ → \d+ bytes\); records \d+ → \d+\)\. .*pass --allow-data-change to continue on the new data anyway\.$/);

    const allowed = train(out, data, ['--resume', '--allow-data-change']);
    assert.equal(allowed.status, 0, allowed.stderr);
    const warned = allowed.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.ok(warned.includes("training data changed; continuing with the checkpoint's data position (--allow-data-change)"), allowed.stderr);
    assert.equal((JSON.parse(allowed.stdout) as { step: number }).step, 2);
  });

  it('a local cluster (real nats-server, coordinator, worker) refuses --resume on appended data before any worker starts', () => {
    cpSync(synth.dir, join(root, 'cluster-set'), { recursive: true });
    const data = join(root, 'cluster-set', 'train');
    const out = join(root, 'cluster-run');
    const cluster = (extra: string[]) => spawnSync(process.execPath, [bin, 'train', '--workers', '1', '--config', 'configs/tiny.json', '--out', out, '--data', data, '--steps', '2', '--backend', 'wasm', '--json',
      '--set', 'dist.worker_timeout_ms=60000', ...extra], { encoding: 'utf8', env: { ...process.env, INSTRUCTUE_LOG_LEVEL: 'warn' }, timeout: 300_000 });
    const first = cluster([]);
    assert.equal(first.status, 0, first.stderr);
    assert.equal((JSON.parse(first.stdout) as { state: string }).state, 'done');
    const file = join(data, 'part-00001.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    writeFileSync(file, [...lines, lines[0]!, lines[1]!].join('\n') + '\n');
    rmSync(join(out, 'logs'), { recursive: true, force: true });
    const refused = cluster(['--resume']);
    assert.equal(refused.status, 2, refused.stderr);
    const message = refused.stderr.split('\n').find((l) => l.startsWith('instructue: '));
    assert.match(message ?? refused.stderr, new RegExp(`^instructue: the training data changed since .*step-00000002 was written \\(changed: part-00001\\.jsonl \\((\\d+) → \\d+ records, \\d+ → \\d+ bytes\\); records \\d+ → \\d+\\)\\. `));
    assert.deepEqual(existsSync(join(out, 'logs')) ? readdirSync(join(out, 'logs')) : [], [], 'no worker was started (no worker log)');
  });
});
