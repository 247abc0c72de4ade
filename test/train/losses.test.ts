import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { tf } from '../../src/backend/tf.js';
import { silentLogger } from '../../src/log.js';
import { contrastiveLoss, contrastiveMasks, contrastiveValueAndGrads, idsCode, instructionCode, prototypeLoss, type ContrastiveOptions } from '../../src/train/losses.js';

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

describe('false-negative mask gating and same-instruction negatives', () => {
  before(() => selectBackend('cpu', silentLogger));
  // A random backbone's picture: users nearly parallel (u·u ≈ 0.98), answers less so, every
  // user–answer cosine well below every same-side one.
  const u = [[1, 0.1, 0], [1, 0, 0.2], [1, -0.15, 0.05]];
  const a = [[0.6, 0.8, 0], [0.6, 0, 0.8], [0.6, -0.8, 0]];
  const all: ContrastiveOptions = { tau: 0.1, margin: 0.1, userAnswer: true, userUser: true, answerAnswer: true };
  const kept = (m: Float32Array) => Array.from(m, (x) => (x === 0 ? 1 : 0));
  async function masks(opts: ContrastiveOptions, ctx = {}) {
    const ut = tf.tensor2d(u);
    const at = tf.tensor2d(a);
    try {
      const m = await contrastiveMasks(ut, at, opts, ctx);
      return { ua: kept(m.ua), uu: kept(m.uu), aa: kept(m.aa) };
    } finally {
      tf.dispose([ut, at]);
    }
  }
  const diagonalOnly = [0, 1, 1, 1, 0, 1, 1, 1, 0];

  it('Eq. 4 drops every same-side user negative of such a backbone; mask = off and the warm-up keep them', async () => {
    const eq4 = await masks(all, { step: 1 });
    assert.deepEqual(eq4.uu, [0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual((await masks({ ...all, mask: 'off' })).uu, diagonalOnly);
    assert.deepEqual((await masks({ ...all, maskWarmupSteps: 5 }, { step: 5 })).uu, diagonalOnly);
    // After the warm-up the paper's mask applies again.
    assert.deepEqual((await masks({ ...all, maskWarmupSteps: 5 }, { step: 6 })).uu, eq4.uu);
  });

  it('relative: each block is standardised by its own off-diagonal mean and std before Eq. 4', async () => {
    const m = await masks({ ...all, mask: 'relative', margin: 0.5 });
    // Recompute on the host: z = (cos − mean_offdiag) / std_offdiag per block; drop z_ij > z_ii(u–a) + margin.
    const norm = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    const [U, A] = [u.map(norm), a.map(norm)];
    const cos = (x: number[][], y: number[][]) => x.map((p) => y.map((q) => p.reduce((s, v, k) => s + v * q[k]!, 0)));
    const z = (c: number[][]) => {
      const off = c.flatMap((row, i) => row.filter((_, j) => j !== i));
      const mean = off.reduce((s, x) => s + x, 0) / off.length;
      const std = Math.sqrt(off.reduce((s, x) => s + (x - mean) ** 2, 0) / off.length);
      return c.map((row) => row.map((x) => (x - mean) / std));
    };
    const [zua, zuu, zaa] = [z(cos(U, A)), z(cos(U, U)), z(cos(A, A))];
    const expect = (zz: number[][], sameSide: boolean) => zz.flatMap((row, i) => row.map((x, j) => (i === j ? (sameSide ? 0 : 1) : x > zua[i]![i]! + 0.5 ? 0 : 1)));
    assert.deepEqual(m, { ua: expect(zua, false), uu: expect(zuu, true), aa: expect(zaa, true) });
    // Unlike Eq. 4, it keeps some same-side user negatives of this backbone.
    assert.ok(m.uu.some((x) => x === 1));
  });

  it('same_instruction keeps only negatives that share the anchor\'s instruction code', async () => {
    const topics = Float32Array.of(instructionCode(null), instructionCode([5, 6]), instructionCode(null));
    const m = await masks({ ...all, mask: 'off', negatives: 'same_instruction' }, { topics });
    // Rows 0 and 2 (no instruction) see each other; row 1 sees only its own positive.
    assert.deepEqual(m.ua, [1, 0, 1, 0, 1, 0, 1, 0, 1]);
    assert.deepEqual(m.uu, [0, 0, 1, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual(m.aa, m.uu);
    await assert.rejects(masks({ ...all, negatives: 'same_instruction' }), /one instruction code per row/);
  });

  it('instruction codes: 0 without an instruction, equal for equal ids, float32-exact', () => {
    assert.equal(instructionCode(null), 0);
    assert.equal(instructionCode([1, 2, 3]), instructionCode([1, 2, 3]));
    assert.notEqual(instructionCode([1, 2, 3]), instructionCode([3, 2, 1]));
    assert.notEqual(instructionCode([]), 0);
    const c = instructionCode([151665, 9707, 1879]);
    assert.equal(Math.fround(c), c);
  });
});

describe('centred scores and duplicate answers', () => {
  before(() => selectBackend('cpu', silentLogger));
  // A random backbone's picture: one shared direction plus small per-row parts.
  const u = [[5, 0.1, 0, 0.02], [5, 0, 0.2, -0.05], [5, -0.15, 0.05, 0.1], [5, 0.05, -0.1, 0]];
  const a = [[3, 0.2, 0.1, 0], [3, 0, 0.3, 0.1], [3, -0.2, 0, 0.05], [3, 0.1, -0.2, -0.1]];
  const opts: ContrastiveOptions = { tau: 0.1, margin: 0.1, userAnswer: true, userUser: true, answerAnswer: true, mask: 'off' };
  const centred = (x: number[][]) => {
    const mean = x[0]!.map((_, k) => x.reduce((s, row) => s + row[k]!, 0) / x.length);
    return x.map((row) => row.map((v, k) => v - mean[k]!));
  };

  it('center = the plain loss of the batch-centred rows; its row gradients sum to zero (the mean is differentiated)', async () => {
    const [ut, at, uc, ac] = [tf.tensor2d(u), tf.tensor2d(a), tf.tensor2d(centred(u)), tf.tensor2d(centred(a))];
    try {
      const withCenter = await contrastiveValueAndGrads(ut, at, { ...opts, center: true });
      const plainOfCentred = await contrastiveValueAndGrads(uc, ac, opts);
      const raw = await contrastiveValueAndGrads(ut, at, opts);
      assert.ok(Math.abs(withCenter.loss - plainOfCentred.loss) < 1e-5, `${withCenter.loss} vs ${plainOfCentred.loss}`);
      // Raw cosines of such rows are all ≈ 1: the loss sits within 0.05 of ln(3B − 2) = ln 10.
      assert.ok(Math.abs(raw.loss - Math.log(10)) < 0.05, `raw ${raw.loss}`);
      assert.ok(withCenter.loss < raw.loss - 0.5 || withCenter.loss > raw.loss + 0.5, 'centring changes the scores at first order');
      for (const g of [withCenter.dUser_BD, withCenter.dAnswer_BD]) {
        const colSums = Array.from(tf.tidy(() => g.sum(0)).dataSync());
        for (const x of colSums) assert.ok(Math.abs(x) < 1e-5, `column sum ${x}`);
      }
      tf.dispose([withCenter.dUser_BD, withCenter.dAnswer_BD, plainOfCentred.dUser_BD, plainOfCentred.dAnswer_BD, raw.dUser_BD, raw.dAnswer_BD]);
    } finally {
      tf.dispose([ut, at, uc, ac]);
    }
  });

  it('dropDuplicateAnswers removes every pair of rows with the same answer code from all three blocks', async () => {
    const [ut, at] = [tf.tensor2d(u), tf.tensor2d(a)];
    try {
      const answers = Float32Array.of(idsCode([7, 8]), idsCode([9]), idsCode([7, 8]), idsCode([8, 7]));
      const m = await contrastiveMasks(ut, at, { ...opts, dropDuplicateAnswers: true }, { answers });
      const kept = (x: Float32Array) => Array.from(x, (v) => (v === 0 ? 1 : 0));
      assert.deepEqual(kept(m.ua), [1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1]);
      assert.deepEqual(kept(m.uu), [0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0]);
      assert.deepEqual(kept(m.aa), kept(m.uu));
      await assert.rejects(contrastiveMasks(ut, at, { ...opts, dropDuplicateAnswers: true }), /one answer code per row/);
    } finally {
      tf.dispose([ut, at]);
    }
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
  it('with center, subtracts the batch mean first (a shared offset no longer hides the classes)', () => {
    // (1,0), (1,0), (0,1) plus a shared offset (50, 50): raw cosines are all ≈ 1, so the loss is
    // ≈ ln 2. Centred, the rows are (1/3,−1/3) ×2 and (−2/3,2/3); p0 = (1/3,−1/3), p1 = (−2/3,2/3):
    // every row has cosine +1 with its own prototype and −1 with the other; τ = 1.
    const u = tf.tensor2d([[51, 50], [51, 50], [50, 51]]);
    const raw = prototypeLoss(u, Int32Array.of(0, 0, 1), 2, 1);
    const centred = prototypeLoss(u, Int32Array.of(0, 0, 1), 2, 1, true);
    assert.ok(Math.abs(raw.dataSync()[0]! - Math.LN2) < 1e-3, `raw ${raw.dataSync()[0]}`);
    assert.ok(Math.abs(centred.dataSync()[0]! - (-1 + lse(1, -1))) < 1e-5, `centred ${centred.dataSync()[0]}`);
    tf.dispose([u, raw, centred]);
  });
});
