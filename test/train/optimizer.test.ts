import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdamW, clipGlobalNorm } from '../../src/train/adamw.js';
import { learningRate } from '../../src/train/schedule.js';

describe('AdamW', () => {
  it('matches PyTorch AdamW by hand for two steps', () => {
    // torch.optim.AdamW(lr=0.1, betas=(0.9,0.999), eps=1e-8, weight_decay=0.1) on p=1, grads 0.5 then −0.25:
    // step 1: p ← p(1 − 0.01) = 0.99; m = 0.05, v = 2.5e-4; m̂ = 0.5, v̂ = 0.25 → p ← 0.99 − 0.1·0.5/(0.5+1e-8)
    const p = Float32Array.of(1);
    const opt = new AdamW(1, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
    opt.update(p, Float32Array.of(0.5), 0.1);
    const p1 = 0.99 - (0.1 * 0.5) / (0.5 + 1e-8);
    assert.ok(Math.abs(p[0]! - p1) < 1e-6);
    // step 2: p ← p1·0.99; m = 0.9·0.05 − 0.025 = 0.02; v = 0.999·2.5e-4 + 0.001·0.0625
    opt.update(p, Float32Array.of(-0.25), 0.1);
    const m = 0.02;
    const v = 0.999 * 2.5e-4 + 0.001 * 0.0625;
    const p2 = p1 * 0.99 - ((0.1 / (1 - 0.81)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
    assert.ok(Math.abs(p[0]! - p2) < 1e-6, `${p[0]} vs ${p2}`);
  });

  it('restores its state exactly', () => {
    const a = new AdamW(3, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 });
    const pa = Float32Array.of(1, 2, 3);
    a.update(pa, Float32Array.of(0.1, -0.2, 0.3), 0.01);
    const b = new AdamW(3, a.config);
    b.fromState(a.toState());
    const pb = pa.slice();
    a.update(pa, Float32Array.of(0.5, 0.5, -0.5), 0.01);
    b.update(pb, Float32Array.of(0.5, 0.5, -0.5), 0.01);
    assert.deepEqual(pa, pb);
  });

  it('clips the global norm', () => {
    const g = Float32Array.of(3, 4);
    assert.equal(clipGlobalNorm(g, 1), 5);
    assert.ok(Math.abs(Math.hypot(g[0]!, g[1]!) - 1) < 1e-6);
    const h = Float32Array.of(0.3, 0.4);
    clipGlobalNorm(h, 1);
    assert.deepEqual(h, Float32Array.of(0.3, 0.4));
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, then decays by a cosine to the floor', () => {
    const cfg = { peak: 1, warmupSteps: 4, totalSteps: 14, minRatio: 0.1 };
    assert.equal(learningRate(cfg, 1), 0.25);
    assert.equal(learningRate(cfg, 4), 1);
    assert.ok(Math.abs(learningRate(cfg, 9) - (0.1 + 0.45 * (1 + Math.cos(Math.PI / 2)))) < 1e-12);
    assert.ok(Math.abs(learningRate(cfg, 14) - 0.1) < 1e-12);
  });
});
