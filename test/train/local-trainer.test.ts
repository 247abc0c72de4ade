/**
 * The tiny preset learns: 40 fixed-seed steps on synthetic users lower the next-token and the
 * contrastive loss (means of the first and last five steps; batches differ per step, so single
 * steps are noisy).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { trainLocal } from '../../src/train/local-trainer.js';
import { readJsonLines } from '../../src/train/run-dir.js';
import { synthData } from '../helpers/synth-data.js';

it('40 steps of the tiny preset lower L_lm by ≥ 12 % and L_cl by ≥ 20 %', async () => {
  const data = synthData(500, 1, 10);
  const out = mkdtempSync(join(tmpdir(), 'instructue-run-'));
  try {
    const config = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.train': data.train, backend: 'wasm' }, env: {} });
    const result = await trainLocal({ config, out, resume: false, allowConfigChange: false, log: silentLogger });
    assert.equal(result.step, 40);
    const lines = readJsonLines<{ loss_lm: number; loss_cl: number }>(join(out, 'metrics.jsonl'));
    const mean = (xs: typeof lines, key: 'loss_lm' | 'loss_cl') => xs.reduce((s, l) => s + l[key], 0) / xs.length;
    const [lm0, lm1] = [mean(lines.slice(0, 5), 'loss_lm'), mean(lines.slice(-5), 'loss_lm')];
    const [cl0, cl1] = [mean(lines.slice(0, 5), 'loss_cl'), mean(lines.slice(-5), 'loss_cl')];
    assert.ok(lm1 <= 0.88 * lm0, `L_lm ${lm0.toFixed(3)} → ${lm1.toFixed(3)}`);
    assert.ok(cl1 <= 0.8 * cl0, `L_cl ${cl0.toFixed(3)} → ${cl1.toFixed(3)}`);
  } finally {
    data.remove();
    rmSync(out, { recursive: true, force: true });
  }
});

it('--steps 0 writes the untrained checkpoint; --fail-on-truncation refuses data the budgets cut, naming the key', async () => {
  const data = synthData(30, 2, 2);
  const out = mkdtempSync(join(tmpdir(), 'instructue-run-'));
  try {
    const zero = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.train': data.train, backend: 'wasm', 'train.steps': 0 }, env: {} });
    const result = await trainLocal({ config: zero, out, resume: false, allowConfigChange: false, log: silentLogger });
    assert.equal(result.step, 0);
    assert.equal(result.checkpoint, join(out, 'checkpoints', 'step-00000000'));
    // Rendered synthetic records are 11–24 encoder tokens: a budget of 8 cuts nearly all of them.
    const cut = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.train': data.train, backend: 'wasm', 'model.encoder.max_len': 8 }, env: {} });
    await assert.rejects(trainLocal({ config: cut, out: join(out, 'cut'), resume: false, allowConfigChange: false, log: silentLogger, failOnTruncation: true }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^--fail-on-truncation: \d+ length budget\(s\) cut more than 1 % of the training data:\n/);
      assert.match(err.message, /model\.encoder\.max_len/);
      return true;
    });
  } finally {
    data.remove();
    rmSync(out, { recursive: true, force: true });
  }
});
