import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { tf } from '../../src/backend/tf.js';
import { createLogger } from '../../src/log.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger({}, { write: (l) => lines.push(JSON.parse(l)) }) };
}

describe('backend selection', () => {
  it('auto falls back to wasm with one log line about native tfjs', async () => {
    const { lines, log } = capture();
    const chosen = await selectBackend('auto', log);
    assert.equal(chosen, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(lines.filter((l) => l.msg === 'native tfjs not available, falling back').length, 1);
  });

  it('an explicit tensorflow request fails with a message that says what to do', async () => {
    await assert.rejects(selectBackend('tensorflow', capture().log), /libtensorflow/);
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`gather gradient works on ${backend} (UnsortedSegmentSum kernel)`, async () => {
      await selectBackend(backend, capture().log);
      const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
      const ids = tf.tensor1d([2, 0, 2], 'int32');
      const weights = tf.tensor2d([[1, 10], [100, 1000], [3, 7]]);
      const grad = tf.grad((t: tf.Tensor) => tf.gather(t, ids).mul(weights).sum())(table);
      assert.deepEqual(Array.from(grad.dataSync()), [100, 1000, 0, 0, 4, 17]);
      tf.dispose([table, ids, weights, grad]);
    });

    it(`batched matMul gradients match the closed form on ${backend}`, async () => {
      await selectBackend(backend, capture().log);
      const a = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
      const b = tf.tensor3d([1, 0, 2, 1, -1, 3, 0, 2], [2, 2, 2]);
      for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
        const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, ta, tb).sum())([a, b]);
        // d/dA sum(A·B) = 1·Bᵀ (each entry of A multiplies a row of B), transposed when A is.
        const ones = tf.onesLike(a);
        const expectA = ta ? tf.matMul(tb ? b.transpose([0, 2, 1]) : b, ones, false, true) : tf.matMul(ones, tb ? b.transpose([0, 2, 1]) : b, false, true);
        const expectB = tb ? tf.matMul(ones, a, true, ta) : tf.matMul(a, ones, !ta, false);
        assert.deepEqual(Array.from(ga!.dataSync()), Array.from(expectA.dataSync()), `dA ta=${ta} tb=${tb}`);
        assert.deepEqual(Array.from(gb!.dataSync()), Array.from(expectB.dataSync()), `dB ta=${ta} tb=${tb}`);
        tf.dispose([ga!, gb!, ones, expectA, expectB]);
      }
      tf.dispose([a, b]);
    });
  }
});
