/**
 * @module eval/linalg
 * The dense float64 kernels the logistic-regression solver needs: a weighted Gram matrix of
 * column-major data (the Newton Hessian) and a Cholesky solve. Plain loops in a fixed order,
 * so results are bit-identical from run to run.
 */
import assert from 'node:assert/strict';

/** Rows per cache block in {@link weightedGram}: 128 rows of ~1,000 columns stay in L2. */
const ROW_BLOCK = 128;

/**
 * G = Aᵀ·diag(s)·A for A with `m` columns of `n` rows stored column-major (`cols[j*n + i]`).
 * Returns the full symmetric m×m matrix, row-major.
 */
export function weightedGram(cols: Float64Array, m: number, n: number, s: Float64Array): Float64Array {
  assert.equal(cols.length, m * n);
  assert.equal(s.length, n);
  const gram = new Float64Array(m * m);
  const block = new Float64Array(m * ROW_BLOCK);
  const scaled = new Float64Array(m * ROW_BLOCK);
  for (let i0 = 0; i0 < n; i0 += ROW_BLOCK) {
    const len = Math.min(ROW_BLOCK, n - i0);
    // One block of rows, copied contiguously per column (plain and scaled by s), so the dot
    // products below read cache-resident memory.
    for (let j = 0; j < m; j++) {
      const src = j * n + i0;
      const dst = j * ROW_BLOCK;
      for (let i = 0; i < len; i++) {
        block[dst + i] = cols[src + i];
        scaled[dst + i] = cols[src + i] * s[i0 + i];
      }
    }
    // Upper triangle in 2×4 tiles (8 accumulators in registers: ~3× the speed of one dot
    // product at a time); leftover columns and a leftover odd row go through dot().
    for (let j = 0; j < m; j += 2) {
      const pair = j + 1 < m;
      let k = j;
      if (pair) for (; k + 4 <= m; k += 4) tile2x4(scaled, block, j, k, len, gram, m);
      for (; k < m; k++) {
        gram[j * m + k] += dot(scaled, j * ROW_BLOCK, block, k * ROW_BLOCK, len);
        if (pair) gram[(j + 1) * m + k] += dot(scaled, (j + 1) * ROW_BLOCK, block, k * ROW_BLOCK, len);
      }
    }
  }
  for (let j = 0; j < m; j++) for (let k = j + 1; k < m; k++) gram[k * m + j] = gram[j * m + k];
  return gram;
}

function dot(a: Float64Array, aStart: number, b: Float64Array, bStart: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i++) sum += a[aStart + i] * b[bStart + i];
  return sum;
}

/** Adds rows j, j+1 × columns k..k+3 of one row block's Gram contribution into `gram`. */
function tile2x4(scaled: Float64Array, block: Float64Array, j: number, k: number, len: number, gram: Float64Array, m: number): void {
  const a0 = j * ROW_BLOCK;
  const a1 = a0 + ROW_BLOCK;
  const b0 = k * ROW_BLOCK;
  const b1 = b0 + ROW_BLOCK;
  const b2 = b1 + ROW_BLOCK;
  const b3 = b2 + ROW_BLOCK;
  let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
  for (let i = 0; i < len; i++) {
    const x0 = scaled[a0 + i];
    const x1 = scaled[a1 + i];
    const y0 = block[b0 + i];
    const y1 = block[b1 + i];
    const y2 = block[b2 + i];
    const y3 = block[b3 + i];
    s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
    s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
  }
  const r0 = j * m + k;
  const r1 = r0 + m;
  gram[r0] += s00; gram[r0 + 1] += s01; gram[r0 + 2] += s02; gram[r0 + 3] += s03;
  gram[r1] += s10; gram[r1 + 1] += s11; gram[r1 + 2] += s12; gram[r1 + 3] += s13;
}

/**
 * Solves A·x = b for symmetric positive-definite A (m×m row-major) by Cholesky factorisation.
 * Returns null when A is not numerically positive definite, so the caller can decide what to do.
 */
export function choleskySolve(a: Float64Array, m: number, b: Float64Array): Float64Array | null {
  assert.equal(a.length, m * m);
  assert.equal(b.length, m);
  // Lower factor L (row-major) with A = L·Lᵀ.
  const l = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * m + j];
      for (let k = 0; k < j; k++) sum -= l[i * m + k] * l[j * m + k];
      if (i === j) {
        if (!(sum > 0)) return null;
        l[i * m + i] = Math.sqrt(sum);
      } else {
        l[i * m + j] = sum / l[j * m + j];
      }
    }
  }
  // Forward substitution L·y = b, then back substitution Lᵀ·x = y.
  const x = Float64Array.from(b);
  for (let i = 0; i < m; i++) {
    let sum = x[i];
    for (let k = 0; k < i; k++) sum -= l[i * m + k] * x[k];
    x[i] = sum / l[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let sum = x[i];
    for (let k = i + 1; k < m; k++) sum -= l[k * m + i] * x[k];
    x[i] = sum / l[i * m + i];
  }
  return x;
}
