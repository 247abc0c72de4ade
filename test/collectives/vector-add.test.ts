/**
 * The all-reduce's fold (`addInto`): cblas_saxpy with alpha 1 when OpenBLAS is installed
 * (scripts/setup.sh installs it), the JS loop otherwise; either way every element must be the
 * IEEE single-precision sum, bit for bit, or the all-reduce would stop being "the left-to-right
 * float32 sum" its tests and docs promise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { addInto, vectorAddKind } from '../../src/collectives/vector-add.js';
import { Rng } from '../../src/util/rng.js';

/** Random bit patterns: every exponent, subnormals, ±0, ±Inf and NaNs included. */
function randomBits(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    bits[i] = Math.floor(rng.next() * 2 ** 32) >>> 0;
    if (i % 3 === 0) bits[i] &= 0x807fffff; // subnormal (or ±0)
  }
  return out;
}

/** Indices where `got` and the float32 sum a + b differ in bits (any NaN matches any NaN). */
function mismatches(got: Float32Array, a: Float32Array, b: Float32Array): number[] {
  const want = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) want[i] = (a[i] as number) + (b[i] as number);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer);
  const bad: number[] = [];
  for (let i = 0; i < a.length; i++) if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) bad.push(i);
  return bad;
}

describe('vector add (the all-reduce fold)', () => {
  it('runs on cblas_saxpy here (OpenBLAS is installed by scripts/setup.sh)', () => {
    assert.equal(vectorAddKind(), 'blas');
  });

  for (const n of [1, 4095, 4096, 8192, 8193, 100_003]) {
    it(`gives the IEEE float32 sum bit for bit, ${n} values, unaligned views included`, () => {
      const rng = new Rng(n);
      const a = randomBits(n, rng);
      // b lives at a 4-byte offset inside a larger buffer, as a frame's values do.
      const b = new Float32Array(n + 1).subarray(1);
      b.set(randomBits(n, rng));
      const target = a.slice();
      addInto(target, b);
      assert.deepEqual(mismatches(target, a, b).slice(0, 5), []);
    });
  }

  it('with INSTRUCTUE_BLAS_LIB=none runs the JS loop, with the same bits', () => {
    const script = fileURLToPath(new URL('./fixtures/vector-add-child.js', import.meta.url));
    const out = execFileSync(process.execPath, [script], { env: { ...process.env, INSTRUCTUE_BLAS_LIB: 'none' }, encoding: 'utf8' });
    const withBlas = execFileSync(process.execPath, [script], { encoding: 'utf8' });
    const [kindNone, sumNone] = out.trim().split(' ');
    const [kindBlas, sumBlas] = withBlas.trim().split(' ');
    assert.equal(kindNone, 'js');
    assert.equal(kindBlas, 'blas');
    assert.equal(sumNone, sumBlas, 'the two paths must give the same bits');
  });
});
