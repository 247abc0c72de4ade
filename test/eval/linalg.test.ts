import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { choleskySolve, weightedGram } from '../../src/eval/linalg.js';
import { Rng } from '../../src/util/rng.js';

describe('weightedGram', () => {
  it('equals the naive triple loop, including odd tile and row-block tails', () => {
    // m = 7 leaves a 2×4 tile plus a 3-column tail and an odd last row; n = 300 leaves a
    // 44-row tail after two 128-row blocks.
    const m = 7;
    const n = 300;
    const rng = new Rng('gram');
    const cols = Float64Array.from({ length: m * n }, () => rng.normal());
    const s = Float64Array.from({ length: n }, () => rng.next());
    const got = weightedGram(cols, m, n, s);
    const worst = Array.from({ length: m * m }, (_, idx) => {
      const [j, k] = [Math.floor(idx / m), idx % m];
      let want = 0;
      for (let i = 0; i < n; i++) want += cols[j * n + i] * s[i] * cols[k * n + i];
      return Math.abs(got[idx] - want);
    }).reduce((a, b) => Math.max(a, b));
    assert.ok(worst < 1e-12, `max abs error ${worst}`);
  });
});

describe('choleskySolve', () => {
  it('solves a hand-checked 2×2 system', () => {
    // [[4, 2], [2, 3]]·x = [2, 5]: det 8, x = [(3·2 − 2·5)/8, (4·5 − 2·2)/8] = [−0.5, 2].
    const x = choleskySolve(Float64Array.of(4, 2, 2, 3), 2, Float64Array.of(2, 5))!;
    assert.ok(Math.abs(x[0] + 0.5) < 1e-15 && Math.abs(x[1] - 2) < 1e-15, `x = ${x}`);
  });

  it('solves a random SPD system to float64 accuracy', () => {
    const m = 40;
    const rng = new Rng('spd');
    const cols = Float64Array.from({ length: m * 100 }, () => rng.normal());
    const a = weightedGram(cols, m, 100, new Float64Array(100).fill(1));
    const want = Float64Array.from({ length: m }, () => rng.normal());
    const b = new Float64Array(m);
    for (let i = 0; i < m; i++) for (let k = 0; k < m; k++) b[i] += a[i * m + k] * want[k];
    const x = choleskySolve(a, m, b)!;
    assert.ok(x.every((v, i) => Math.abs(v - want[i]) < 1e-9));
  });

  it('returns null for a matrix that is not positive definite', () => {
    assert.equal(choleskySolve(Float64Array.of(1, 2, 2, 1), 2, Float64Array.of(1, 1)), null);
  });
});
