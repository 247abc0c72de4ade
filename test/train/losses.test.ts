import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { tf } from '../../src/backend/tf.js';
import { silentLogger } from '../../src/log.js';
import { contrastiveLoss, contrastiveMasks, contrastiveValueAndGrads, prototypeLoss, type ContrastiveOptions } from '../../src/train/losses.js';

const r = Math.SQRT1_2; // cos 45°
const lse = (...xs: number[]) => Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));

async function loss(u: number[][], a: number[][], opts: ContrastiveOptions): Promise<number> {
  const ut = tf.tensor2d(u);
  const at = tf.tensor2d(a);
  const value = contrastiveLoss(ut, at, await contrastiveMasks(ut, at, opts), opts.tau);
  const out = value.dataSync()[0]!;
  tf.dispose([ut, at, value]);
  return out;
}

const base: ContrastiveOptions = { tau: 1, margin: 10, userAnswer: true, userUser: false, answerAnswer: false };

describe('contrastive loss (Eq. 2–4), hand-computed cases', () => {
  before(() => selectBackend('cpu', silentLogger));
  // u1 = (2,0) (normalised to (1,0)), u2 = (0,1); a1 = (1,1)/√2, a2 = (−1,1)/√2.
  // cos: u1·a1 = r, u1·a2 = −r, u2·a1 = r, u2·a2 = r, u1·u2 = 0, a1·a2 = 0.
  const u = [[2, 0], [0, 1]];
  const a = [[r, r], [-r, r]];

  it('u–a negatives only', async () => {
    // row 1: −r + log(e^r + e^−r); row 2: −r + log(e^r + e^r)
    const expected = ((-r + lse(r, -r)) + (-r + lse(r, r))) / 2;
    assert.ok(Math.abs(await loss(u, a, base) - expected) < 1e-6);
  });

  it('adds same-side u–u negatives', async () => {
    // each row gains e^{u_i·u_j} = e^0
    const expected = ((-r + lse(r, -r, 0)) + (-r + lse(r, r, 0))) / 2;
    assert.ok(Math.abs(await loss(u, a, { ...base, userUser: true }) - expected) < 1e-6);
  });

  it('adds same-side a–a negatives', async () => {
    const expected = ((-r + lse(r, -r, 0, 0)) + (-r + lse(r, r, 0, 0))) / 2;
    assert.ok(Math.abs(await loss(u, a, { ...base, userUser: true, answerAnswer: true }) - expected) < 1e-6);
  });

  it('without any negative type the loss is 0 (only the positive remains)', async () => {
    assert.ok(Math.abs(await loss(u, a, { ...base, userAnswer: false })) < 1e-6);
  });

  it('temperature divides every score', async () => {
    const t = 0.5;
    const expected = ((-r / t + lse(r / t, -r / t)) + (-r / t + lse(r / t, r / t))) / 2;
    assert.ok(Math.abs(await loss(u, a, { ...base, tau: t }) - expected) < 1e-5);
  });

  it('masks a false negative that beats the positive by more than the margin (Eq. 4)', async () => {
    // u1 = (1,0), u2 = (0.8,0.6); a1 = (1,0), a2 = (0,1).
    // row 1: positive 1, negative u1·a2 = 0 (kept). row 2: positive u2·a2 = 0.6,
    // negative u2·a1 = 0.8 > 0.6 + 0.1 → masked; with margin 0.3 it is kept.
    const uu = [[1, 0], [0.8, 0.6]];
    const aa = [[1, 0], [0, 1]];
    const masked = ((-1 + lse(1, 0)) + (-0.6 + lse(0.6))) / 2;
    const kept = ((-1 + lse(1, 0)) + (-0.6 + lse(0.6, 0.8))) / 2;
    assert.ok(Math.abs(await loss(uu, aa, { ...base, margin: 0.1 }) - masked) < 1e-6);
    assert.ok(Math.abs(await loss(uu, aa, { ...base, margin: 0.3 }) - kept) < 1e-6);
  });

  it('its gradient w.r.t. the embeddings matches finite differences', async () => {
    const uv = [[0.3, -1.2, 0.5], [1.1, 0.4, -0.2], [-0.7, 0.9, 0.8]];
    const av = [[0.2, -0.9, 0.7], [1.3, 0.1, 0.1], [-0.2, 1.0, 0.3]];
    const opts: ContrastiveOptions = { tau: 0.2, margin: 0.1, userAnswer: true, userUser: true, answerAnswer: true };
    const { dUser_BD, loss: value } = await contrastiveValueAndGrads(tf.tensor2d(uv), tf.tensor2d(av), opts);
    const g = dUser_BD.arraySync() as number[][];
    const h = 1e-3;
    const bump = (d: number) => loss(uv.map((row, i) => row.map((x, j) => (i === 1 && j === 0 ? x + d : x))), av, opts);
    assert.ok(Math.abs(value - (await loss(uv, av, opts))) < 1e-6);
    assert.ok(Math.abs(((await bump(h)) - (await bump(-h))) / (2 * h) - g[1]![0]!) < 2e-3);
  });
});

describe('prototype loss (Eq. 6), hand-computed', () => {
  before(() => selectBackend('cpu', silentLogger));
  it('pulls users to their class mean', () => {
    // users (1,0), (1,0) in class 0 → p0 = (1,0); user (0,1) in class 1 → p1 = (0,1); τ = 1.
    // rows 0,1: −log(e^1/(e^1 + e^0)); row 2: the same by symmetry.
    const u = tf.tensor2d([[1, 0], [1, 0], [0, 1]]);
    const value = prototypeLoss(u, Int32Array.of(0, 0, 1), 2, 1);
    assert.ok(Math.abs(value.dataSync()[0]! - (-1 + lse(1, 0))) < 1e-6);
    tf.dispose([u, value]);
  });
});
