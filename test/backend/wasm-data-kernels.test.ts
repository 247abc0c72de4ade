import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { tf } from '../../src/backend/tf.js';
import { silentLogger } from '../../src/log.js';

type Dtype = 'float32' | 'int32' | 'bool';
const DTYPES: Dtype[] = ['float32', 'int32', 'bool'];

function make(shape: number[], dtype: Dtype, salt: number): tf.Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const values = Array.from({ length: n }, (_, i) => (dtype === 'bool' ? (i + salt) % 3 === 0 : dtype === 'int32' ? i * 7 - salt : i * 0.5 - salt));
  return tf.tensor(values as number[], shape, dtype);
}

/** Every op of the data-movement kernels over shapes that exercise each copy path. */
const OPS: Array<[string, (dtype: Dtype) => tf.Tensor | tf.Tensor[]]> = [
  ['clone', (t) => tf.clone(make([3, 4], t, 1))],
  ['cast same dtype', (t) => tf.cast(make([2, 5], t, 2), t)],
  ['cast to float32', (t) => tf.cast(make([2, 5], t, 2), 'float32')],
  ['cast to int32', (t) => tf.cast(make([7], t, 3), 'int32')],
  ['slice rank 1', (t) => tf.slice(make([9], t, 1), [2], [5])],
  ['slice rank 2 columns', (t) => tf.slice(make([4, 6], t, 1), [1, 2], [3, 3])],
  ['slice rank 3 whole rows', (t) => tf.slice(make([3, 4, 5], t, 1), [1, 0, 0], [2, 4, 5])],
  ['slice rank 4 inner', (t) => tf.slice(make([2, 3, 4, 5], t, 1), [1, 1, 1, 2], [1, 2, 3, 2])],
  ['slice rank 5', (t) => tf.slice(make([2, 2, 3, 2, 3], t, 1), [0, 1, 1, 0, 1], [2, 1, 2, 2, 2])],
  ['slice -1 sizes', (t) => tf.slice(make([3, 4], t, 1), [1, 1], [-1, -1])],
  ['slice empty', (t) => tf.slice(make([3, 4], t, 1), [1, 1], [0, 2])],
  ['split last axis (RoPE halves)', (t) => tf.split(make([2, 3, 4, 8], t, 1), [4, 4], 3)],
  ['split middle axis, uneven', (t) => tf.split(make([2, 7, 3], t, 2), [1, 4, 2], 1)],
  ['split first axis', (t) => tf.split(make([6, 2], t, 3), 3, 0)],
  ['concat last axis', (t) => tf.concat([make([2, 3, 2], t, 1), make([2, 3, 5], t, 2)], 2)],
  ['concat middle axis, three', (t) => tf.concat([make([2, 1, 3], t, 1), make([2, 4, 3], t, 2), make([2, 2, 3], t, 3)], 1)],
  ['concat first axis', (t) => tf.concat([make([1, 4], t, 1), make([3, 4], t, 2)], 0)],
  ['concat with an empty input', (t) => tf.concat([make([2, 0], t, 1), make([2, 3], t, 2), make([2, 1], t, 3)], 1)],
  ['concat of one non-empty', (t) => tf.concat([make([0, 3], t, 1), make([2, 3], t, 2)], 0)],
  ['tile identity reps', (t) => tf.tile(make([2, 1, 3, 3], t, 1), [1, 1, 1, 1])],
  ['tile inner axis (attention mask)', (t) => tf.tile(make([2, 1, 3, 4], t, 1), [1, 1, 5, 1])],
  ['tile every axis', (t) => tf.tile(make([2, 3, 2], t, 1), [2, 1, 3])],
  ['tile last axis', (t) => tf.tile(make([3, 2], t, 1), [2, 4])],
  ['tile rank 1', (t) => tf.tile(make([4], t, 1), [3])],
  ['tile to empty', (t) => tf.tile(make([2, 3], t, 1), [0, 2])],
  ['gather rows (embedding)', (t) => tf.gather(make([5, 3], t, 1), tf.tensor([[4, 0, 4], [1, 2, 3]], [2, 3], 'int32'))],
  ['gather middle axis', (t) => tf.gather(make([2, 4, 3], t, 1), tf.tensor([3, 1, 1], [3], 'int32'), 1)],
  ['gather last axis', (t) => tf.gather(make([3, 5], t, 2), tf.tensor([4, 0, 2, 2], [4], 'int32'), 1)],
  ['gather with batch dims', (t) => tf.gather(make([2, 4, 3], t, 3), tf.tensor([[0, 3], [2, 2]], [2, 2], 'int32'), 1, 1)],
  ['gather nothing', (t) => tf.gather(make([4, 2], t, 1), tf.tensor([], [0], 'int32'))],
];

async function run(backend: 'cpu' | 'wasm'): Promise<Record<string, unknown>> {
  await selectBackend(backend, silentLogger);
  const out: Record<string, unknown> = {};
  for (const [name, op] of OPS) {
    for (const dtype of DTYPES) {
      const result = op(dtype);
      const list = Array.isArray(result) ? result : [result];
      out[`${name} ${dtype}`] = list.map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }));
      tf.dispose(list);
    }
  }
  return out;
}

describe('wasm data-movement kernels (shared buffers, heap block copies)', () => {
  it('give the cpu backend\'s results for every dtype and copy path', async () => {
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    for (const key of Object.keys(cpu)) assert.deepEqual(wasm[key], cpu[key], key);
  });

  it('gather rejects an out-of-range index like the built-in kernel', async () => {
    await selectBackend('wasm', silentLogger);
    const x = tf.ones([3, 2]);
    const ids = tf.tensor([0, 3], [2], 'int32');
    assert.throws(() => tf.gather(x, ids), /GatherV2: the index value 3 is not in \[0, 2\]/);
    tf.dispose([x, ids]);
  });

  it('share buffers safely: a clone and a same-dtype cast outlive their source, and nothing leaks', async () => {
    await selectBackend('wasm', silentLogger);
    const before = tf.memory();
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const copy = tf.clone(x);
    const same = tf.cast(x, 'float32');
    x.dispose();
    assert.deepEqual(Array.from(copy.dataSync()), [1, 2, 3, 4]);
    const plus = same.add(1);
    assert.deepEqual(Array.from(plus.dataSync()), [2, 3, 4, 5]);
    tf.dispose([copy, same, plus]);
    assert.equal(tf.memory().numTensors, before.numTensors);
    assert.equal(tf.memory().numBytes, before.numBytes);
  });
});
