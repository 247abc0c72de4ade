import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { tf } from '../../src/backend/tf.js';
import type { EncodedSample } from '../../src/data/types.js';
import type { InstructUE } from '../../src/model/instructue.js';
import { silentLogger } from '../../src/log.js';
import { Rng } from '../../src/util/rng.js';
import { randomSamples, tinyModel } from '../helpers/tiny-model.js';

/** User and answer embeddings for a batch (no gradient), as host arrays. */
function embeddings(model: InstructUE, samples: EncodedSample[]): { user: Float32Array; answer: Float32Array } {
  const batch = model.prepare(samples, { withAnswer: false });
  try {
    return tf.tidy(() => ({
      user: model.userForward(batch, { withAnswer: false }).user_BD.dataSync() as Float32Array,
      answer: model.answerForward(batch).dataSync() as Float32Array,
    }));
  } finally {
    batch.dispose();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('InstructUE model (wasm)', () => {
  let model: InstructUE;
  before(async () => {
    await selectBackend('wasm', silentLogger);
    model = tinyModel();
  });
  after(() => model.dispose());

  it('decoder is causal: changing tokens after t leaves hidden states up to t unchanged', () => {
    const rng = new Rng('causal');
    const [b, t, d] = [2, 9, model.hidden];
    const base = rng.normalArray(b * t * d, 1);
    const changed = base.slice();
    for (let bi = 0; bi < b; bi++) for (let i = 5 * d; i < t * d; i++) changed[bi * t * d + i] = rng.normal();
    const mask = new Int32Array(b * t).fill(1);
    const run = (x: Float32Array) => tf.tidy(() => model.decoder.forward(tf.tensor3d(x, [b, t, d]), mask).dataSync() as Float32Array);
    const h1 = run(base);
    const h2 = run(changed);
    for (let bi = 0; bi < b; bi++) {
      const upTo = (arr: Float32Array) => arr.slice(bi * t * d, bi * t * d + 5 * d);
      assert.equal(maxAbsDiff(upTo(h1), upTo(h2)), 0, `row ${bi}: positions 0..4 changed`);
      assert.ok(maxAbsDiff(h1.slice(bi * t * d + 5 * d, (bi + 1) * t * d), h2.slice(bi * t * d + 5 * d, (bi + 1) * t * d)) > 1e-3, 'later positions must change');
    }
  });

  it('padding does not change the results of the non-padded rows', () => {
    const samples = randomSamples(4, 'pad');
    const together = embeddings(model, samples);
    const d = model.hidden;
    samples.forEach((s, i) => {
      const alone = embeddings(model, [s]);
      assert.ok(maxAbsDiff(alone.user, together.user.slice(i * d, (i + 1) * d)) < 1e-5, `user ${i}`);
      assert.ok(maxAbsDiff(alone.answer, together.answer.slice(i * d, (i + 1) * d)) < 1e-5, `answer ${i}`);
    });
  });

  it('LoRA with B = 0 gives outputs identical to the base model', () => {
    const plain = tinyModel({ lora: { r: 2, alpha: 4, useRslora: false, dropout: 0, targets: [] } });
    try {
      const samples = randomSamples(3, 'lora');
      const withLora = embeddings(model, samples);
      const without = embeddings(plain, samples);
      assert.deepEqual(withLora.user, without.user);
      assert.deepEqual(withLora.answer, without.answer);
      assert.ok(model.store.trainableNames().includes('model.layers.1.mlp.down_proj.lora_B.weight'));
      assert.ok(!plain.store.trainableNames().some((n) => n.includes('lora')));
    } finally {
      plain.dispose();
    }
  });

  it('the user embedding does not depend on the appended answer (teacher forcing is causal)', () => {
    const samples = randomSamples(3, 'teacher');
    const batch = model.prepare(samples, { withAnswer: true });
    try {
      const [withAnswer, promptOnly] = tf.tidy(() => [
        model.userForward(batch, { withAnswer: true }).user_BD.dataSync() as Float32Array,
        model.userForward(batch, { withAnswer: false }).user_BD.dataSync() as Float32Array,
      ]);
      assert.ok(maxAbsDiff(withAnswer!, promptOnly!) < 1e-5);
    } finally {
      batch.dispose();
    }
  });

  it('forward + backward leaves no tensors behind', () => {
    const samples = randomSamples(3, 'leak');
    const run = () => {
      const batch = model.prepare(samples, { withAnswer: true });
      const { grads, value } = tf.variableGrads(() => {
        const r = model.userForward(batch, { withAnswer: true });
        return tf.add(r.user_BD.sum(), r.lmNllSum!).add(model.answerForward(batch).sum()) as tf.Scalar;
      }, model.store.trainableVariables());
      tf.dispose([value, ...Object.values(grads)]);
      batch.dispose();
    };
    run(); // first call builds caches (RoPE tables, LM head)
    const before = tf.memory().numTensors;
    run();
    assert.equal(tf.memory().numTensors, before);
  });
});
