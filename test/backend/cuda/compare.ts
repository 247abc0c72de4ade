/**
 * Conformance helpers: run the same function on two tfjs backends from the same host inputs,
 * read everything back, and compare whole results (shape, dtype, every value). Floats agree
 * when |x − y| ≤ rtol · max(|y|, floor) (both NaN counts as equal); ints and bools exactly.
 */
import assert from 'node:assert/strict';
import { tf } from '../../../src/backend/tf.js';

export interface HostTensor {
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  values: Float32Array | Int32Array | Uint8Array;
}

export interface Result {
  shape: number[];
  dtype: string;
  values: Float32Array | Int32Array | Uint8Array;
}

/** Makes tensors of `inputs` on the current backend, runs `fn`, reads and disposes everything. */
export function runOn(backendName: string, inputs: Record<string, HostTensor>, fn: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[]): Result[] {
  const previous = tf.getBackend();
  tf.setBackend(backendName);
  try {
    const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape, v.dtype)]));
    try {
      const out = tf.tidy(() => fn(tensors));
      const list = Array.isArray(out) ? out : [out];
      const results = list.map((t) => ({ shape: [...t.shape], dtype: t.dtype, values: t.dataSync() as Result['values'] }));
      tf.dispose(list);
      return results;
    } finally {
      tf.dispose(Object.values(tensors));
    }
  } finally {
    tf.setBackend(previous);
  }
}

export interface Tolerance {
  rtol: number;
  /** Values below this magnitude are compared absolutely against rtol·floor. */
  floor: number;
}

/** Asserts two result lists are equal (floats within tolerance); `what` names the case. */
export function assertResultsClose(actual: Result[], expected: Result[], tol: Tolerance, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: number of outputs`);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    assert.deepEqual(a.shape, e.shape, `${what}: output ${i} shape`);
    assert.equal(a.dtype, e.dtype, `${what}: output ${i} dtype`);
    assert.equal(a.values.length, e.values.length, `${what}: output ${i} length`);
    if (e.dtype !== 'float32') {
      assert.deepEqual(Array.from(a.values), Array.from(e.values), `${what}: output ${i} values`);
      return;
    }
    let worst = -1;
    let worstErr = 0;
    for (let j = 0; j < e.values.length; j++) {
      const x = a.values[j]!;
      const y = e.values[j]!;
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (x === y) continue;
      const err = Math.abs(x - y) / Math.max(Math.abs(y), tol.floor);
      if (!(err <= tol.rtol) && !(err <= worstErr)) {
        worst = j;
        worstErr = Number.isNaN(err) ? Infinity : err;
      }
    }
    assert.ok(worst < 0, `${what}: output ${i}[${worst}] = ${a.values[worst]} vs ${e.values[worst]} (relative error ${worstErr.toExponential(2)} > ${tol.rtol})`);
  });
}

/** Largest |x| of a float result (scale for gradient comparisons). */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

/** ‖actual − expected‖₂ / ‖expected‖₂. */
export function relativeL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i]! - expected[i]!) ** 2;
    den += expected[i]! ** 2;
  }
  return Math.sqrt(num / den);
}
