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
