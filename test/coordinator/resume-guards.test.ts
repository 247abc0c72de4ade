/**
 * Where a resumed cluster job starts (src/coordinator/resume-point.ts) when the run folder lies:
 * no consumed.jsonl beside checkpoints (B6), a manifest that leaves out a required file (B9), and
 * training data edited or extended since the checkpoint (B7). Real checkpoints written by the
 * one codec into a real run folder, real data files and their index.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MANIFEST_FILE, stepName, type Manifest } from '../../src/checkpoint/store.js';
import { loadConfig } from '../../src/config/load.js';
import { findResumePoint } from '../../src/coordinator/resume-point.js';
import { dataFingerprint } from '../../src/data/fingerprint.js';
import { VirtualShards } from '../../src/data/shards.js';
import { CheckpointError } from '../../src/errors.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { openCheckpointStore, saveCheckpoint, STATE_FILE } from '../../src/train/checkpoint.js';
import type { FlatLayout } from '../../src/train/flat.js';
import { appendJsonLine, runPaths } from '../../src/train/run-dir.js';
import { record, tempDir } from '../data/helpers.js';

const { dir, cleanup } = tempDir('resume-guards');
after(cleanup);

const layout: FlatLayout = { names: ['w'], offsets: [0], sizes: [4], shapes: [[4]], total: 4 };
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => JSON.stringify(record(from + k))).join('\n') + '\n';

/** A data folder of 12 records in two files and a run folder with checkpoints at steps 2, 4, 6 (all committed). */
async function makeRun(name: string, opts: { consumed: boolean }) {
  const root = join(dir, name);
  const data = join(root, 'data');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'part-00000.jsonl'), lines(0, 6));
  writeFileSync(join(data, 'part-00001.jsonl'), lines(6, 12));
  const config = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.train': data, 'train.keep_last': 5 }, env: {} });
  const paths = runPaths(join(root, 'run'));
  mkdirSync(paths.checkpoints, { recursive: true });
  const store = openCheckpointStore(paths.checkpoints, 5);
  const shards = new VirtualShards({ numSamples: 12, virtualShards: config.data.virtual_shards, seed: config.seed });
  const fingerprint = await dataFingerprint(data);
  for (let step = 1; step <= 6; step++) {
    const batch = shards.next(2, 1);
    if (opts.consumed) appendJsonLine(paths.consumed, { epoch: batch.dataEpoch, step, rank: 0, ids: [] });
    appendJsonLine(paths.metrics, { step });
    if (step % 2 === 0) {
      const state = { cursor: { step, shards: shards.toState() }, params: Float32Array.of(step, 0, 0, 0), m: new Float32Array(4), v: new Float32Array(4) };
      await saveCheckpoint(store, layout, state, { config, schedule: { peak: 1, warmupSteps: 0, totalSteps: 6, minRatio: 0 }, worldSize: 1, data: fingerprint, metrics: null });
    }
  }
  return { root, data, config, paths };
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  return { log: createLogger({}, { level: 'info', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }), lines };
}

describe('findResumePoint guards', () => {
  it('B6: checkpoints but no consumed.jsonl → nothing was committed, start fresh at step 0', async () => {
    const { config, paths } = await makeRun('no-consumed', { consumed: false });
    const point = await findResumePoint(paths, config, false, silentLogger);
    assert.deepEqual(point, { start: { kind: 'fresh' }, committed: { step: 0, cursor: null }, history: [], checkpoint: null });
    assert.equal(readFileSync(paths.metrics, 'utf8'), '');
  });

  it('with consumed.jsonl up to step 6 the newest checkpoint (6) is the start', async () => {
    const { config, paths } = await makeRun('committed', { consumed: true });
    const point = await findResumePoint(paths, config, false, silentLogger);
    assert.equal(point.committed.step, 6);
    assert.equal(point.start.kind, 'checkpoint');
  });

  it('B9: a manifest that omits state.json (and the file gone) is corrupt: step 4 is used, with a warning', async () => {
    const { config, paths } = await makeRun('manifest', { consumed: true });
    const ck6 = join(paths.checkpoints, stepName(6));
    const manifest = JSON.parse(readFileSync(join(ck6, MANIFEST_FILE), 'utf8')) as Manifest;
    delete manifest.files[STATE_FILE];
    writeFileSync(join(ck6, MANIFEST_FILE), JSON.stringify(manifest));
    rmSync(join(ck6, STATE_FILE));
    const { log, lines } = capture();
    const point = await findResumePoint(paths, config, false, log);
    assert.equal(point.committed.step, 4);
    assert.deepEqual(lines.filter((l) => l.level === 'warn').map((l) => [l.msg, l.step]), [['checkpoint is corrupt, trying the previous one', 6]]);
    assert.match(String(lines.find((l) => l.level === 'warn')?.reason), /the manifest does not list state\.json/);
  });

  it('B7: edited content is refused, naming the changed file; --allow-data-change keeps the data position', async () => {
    const { data, config, paths } = await makeRun('edited', { consumed: true });
    const before = await findResumePoint(paths, config, false, silentLogger);
    writeFileSync(join(data, 'part-00000.jsonl'), lines(0, 6).replace(/answer 0/g, 'TAMPERED answer 0'));
    await assert.rejects(findResumePoint(paths, config, false, silentLogger), (err: unknown) => {
      assert.ok(err instanceof CheckpointError && err.code === 'CHECKPOINT_MISMATCH', String(err));
      assert.match(err.message, /^the training data changed since .*step-00000006 was written \(changed: part-00000\.jsonl \(6 → 6 records, \d+ → \d+ bytes\); records 12 → 12\)\. .* pass --allow-data-change to continue on the new data anyway\.$/);
      return true;
    });
    const allowed = await findResumePoint(paths, config, false, silentLogger, true);
    assert.deepEqual(allowed.start, before.start);
  });

  it('B7: appended records are refused with the count; allowed, the position restarts at the next epoch of the new count', async () => {
    const { data, config, paths } = await makeRun('appended', { consumed: true });
    const before = await findResumePoint(paths, config, false, silentLogger);
    appendFileSync(join(data, 'part-00001.jsonl'), lines(12, 14));
    writeFileSync(join(data, 'part-00002.jsonl'), lines(14, 15));
    await assert.rejects(findResumePoint(paths, config, false, silentLogger), /\(changed: part-00001\.jsonl \(6 → 8 records, \d+ → \d+ bytes\); added: part-00002\.jsonl \(1 records\); records 12 → 15\)/);
    const allowed = await findResumePoint(paths, config, false, silentLogger, true);
    assert.equal(before.start.kind, 'checkpoint');
    assert.equal(allowed.start.kind, 'checkpoint');
    const was = before.start.kind === 'checkpoint' ? before.start.cursor.shards : null;
    const fresh = new VirtualShards({ numSamples: 15, virtualShards: config.data.virtual_shards, seed: config.seed }).toState();
    assert.deepEqual(allowed.start.kind === 'checkpoint' ? allowed.start.cursor : null, { step: 6, shards: { ...fresh, epoch: was!.epoch + 1 } });
  });
});
