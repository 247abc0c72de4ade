/**
 * The `tiny` case of bench/model.ts: the tiny preset on 400 synthetic users, timing the
 * embedding forward (user + answer, prompt only) and one full train step (both passes, loss,
 * AdamW) on one global batch of 8. Tokens are real (non-padding) decoder positions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../src/backend/tf.js';
import { loadConfig } from '../src/config/load.js';
import type { BackendName } from '../src/config/schema.js';
import { writeSynth } from '../src/data/synth/write.js';
import { silentLogger } from '../src/log.js';
import { LocalComm } from '../src/train/comm.js';
import { TrainingSession } from '../src/train/session.js';
import { median, type Timing } from './timing.js';

/** Writes a small synthetic data set for benchmarks; returns its folder (the caller removes it). */
export function benchData(users = 400, seed = 1): string {
  const dir = mkdtempSync(join(tmpdir(), 'instructue-bench-'));
  writeSynth({ out: dir, users, evalUsers: 10, shards: 2, gzip: false, seed, difficulty: 0.5, pairsPerUser: 3, maxEvents: 10 });
  return dir;
}

const realPositions = (mask: Int32Array) => mask.reduce((a, b) => a + b, 0);

export async function runTinyCase(backend: BackendName, label: string, reps: number): Promise<Timing> {
  const dir = benchData();
  const config = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.train': join(dir, 'train'), backend }, env: {} });
  const session = await TrainingSession.create(config, { runDir: join(dir, 'bench-run'), log: silentLogger });
  try {
    const samples = await session.encode(session.shards.next(config.train.global_batch, 1).perRank[0]!);
    const model = session.built.model;
    let forwardTokens = 0;
    const forwardMs = await median(() => {
      const batch = model.prepare(samples, { withAnswer: false });
      tf.tidy(() => {
        model.userForward(batch, { withAnswer: false }).user_BD.dataSync();
        model.answerForward(batch).dataSync();
      });
      forwardTokens = realPositions(batch.prompt.mask) + realPositions(batch.answers.mask);
      batch.dispose();
    }, reps);
    let trainTokens = 0;
    const trainMs = await median(async () => {
      trainTokens = (await session.stepper.run([samples], new LocalComm())).tokens;
    }, reps);
    return { backend: label, name: 'tiny', forwardTokens, trainTokens, forwardMs, trainMs };
  } finally {
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
