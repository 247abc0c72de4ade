import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { tf } from '../../src/backend/tf.js';
import type { EncodedSample } from '../../src/data/types.js';
import type { InstructUE } from '../../src/model/instructue.js';
import { silentLogger } from '../../src/log.js';
import { Rng } from '../../src/util/rng.js';
import { randomSamples, tinyModel } from '../helpers/tiny-model.js';

/**
 * The scalar whose gradient we check: a fixed random projection of the user and answer
 * embeddings plus the mean LM loss — the same three paths the train step differentiates.
 */
function objective(model: InstructUE, samples: EncodedSample[]): () => tf.Scalar {
  const batch = model.prepare(samples, { withAnswer: true });
  const rng = new Rng('projection');
  const size = samples.length * model.hidden;
  const ru = tf.keep(tf.tensor2d(rng.normalArray(size, 1), [samples.length, model.hidden]));
  const ra = tf.keep(tf.tensor2d(rng.normalArray(size, 1), [samples.length, model.hidden]));
  const f = () => tf.tidy(() => {
    const user = model.userForward(batch, { withAnswer: true });
    const lm = tf.div(user.lmNllSum!, user.lmTokens);
    return tf.sum(tf.mul(user.user_BD, ru)).add(tf.sum(tf.mul(model.answerForward(batch), ra))).add(lm) as tf.Scalar;
  });
  return f;
}

function analyticGrads(model: InstructUE, f: () => tf.Scalar): Map<string, Float32Array> {
  const { grads, value } = tf.variableGrads(f, model.store.trainableVariables());
  const out = new Map<string, Float32Array>();
  for (const [name, g] of Object.entries(grads)) out.set(model.store.nameOf(name), g.dataSync() as Float32Array);
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

async function onBackend(backend: 'wasm' | 'cpu') {
  await selectBackend(backend, silentLogger);
  const model = tinyModel();
  // Non-zero LoRA B so that the A matrices get gradients too.
  for (const name of model.store.trainableNames().filter((n) => n.endsWith('lora_B.weight'))) {
    const v = model.store.variable(name);
    tf.tidy(() => v.assign(tf.tensor(new Rng('b', name).normalArray(v.size, 0.1), v.shape)));
  }
  return model;
}

/** Central finite difference of `f` in entry `index` of `name`, restoring the value after. */
function numericGrad(model: InstructUE, f: () => tf.Scalar, name: string, index: number, h: number): number {
  const variable = model.store.variable(name);
  const original = variable.dataSync().slice() as Float32Array;
  const at = (delta: number) => {
    const values = original.slice();
    values[index] = values[index]! + delta;
    tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
    return tf.tidy(() => f().dataSync()[0]!);
  };
  const numeric = (at(h) - at(-h)) / (2 * h);
  tf.tidy(() => variable.assign(tf.tensor(original, variable.shape)));
  return numeric;
}

describe('gradients', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`finite differences agree with autodiff on ${backend} (relative error < 1e-2)`, async () => {
      const model = await onBackend(backend);
      try {
        const f = objective(model, randomSamples(3, 'fd'));
        const grads = analyticGrads(model, f);
        const checked: string[] = [];
        for (const name of ['special_tokens.embedding', 'adapters.bill.weight', 'adapters.tabular.weight', 'model.layers.0.self_attn.q_proj.lora_A.weight', 'model.layers.1.mlp.down_proj.lora_B.weight', 'model.layers.1.self_attn.v_proj.lora_B.weight']) {
          const g = grads.get(name);
          assert.ok(g, `no gradient for ${name}`);
          // The entry with the largest gradient (a small one would be all rounding noise).
          let index = 0;
          for (let i = 1; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[index]!)) index = i;
          const numeric = numericGrad(model, f, name, index, 1e-2);
          const relative = Math.abs(numeric - g[index]!) / Math.max(Math.abs(numeric), Math.abs(g[index]!));
          assert.ok(relative < 1e-2, `${name}[${index}]: autodiff ${g[index]} vs numeric ${numeric} (relative ${relative})`);
          checked.push(name);
        }
        assert.equal(checked.length, 6);
      } finally {
        model.dispose();
      }
    });
  }

  it('full fine-tuning with a trainable encoder: every decoder and encoder weight is a variable and its gradient matches finite differences', async () => {
    await selectBackend('cpu', silentLogger);
    const model = tinyModel({ finetune: 'full', trainEncoder: true });
    try {
      const names = model.store.trainableNames();
      // Every base weight trains (no LoRA), the encoder's included; nothing is frozen.
      assert.equal(model.store.frozenCount(), 0);
      assert.ok(!names.some((n) => n.includes('lora_')), 'full fine-tuning has no LoRA');
      for (const expected of ['model.embed_tokens.weight', 'model.norm.weight', 'model.layers.1.mlp.down_proj.weight', 'model.layers.0.self_attn.q_proj.bias', 'model.layers.0.input_layernorm.weight',
        'embeddings.word_embeddings.weight', 'embeddings.position_embeddings.weight', 'embeddings.LayerNorm.weight', 'encoder.layer.0.attention.self.query.weight', 'encoder.layer.0.output.LayerNorm.bias']) {
        assert.ok(names.includes(expected), `${expected} is not trainable`);
      }
      const f = objective(model, randomSamples(3, 'fd-full'));
      const grads = analyticGrads(model, f);
      // The entry with the largest gradient of each tensor (for the token types: row 0, the only one used).
      const failures: string[] = [];
      for (const name of names) {
        const g = grads.get(name);
        assert.ok(g, `no gradient for ${name}`);
        let index = 0;
        for (let i = 1; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[index]!)) index = i;
        const numeric = numericGrad(model, f, name, index, 1e-2);
        const relative = Math.abs(numeric - g[index]!) / Math.max(Math.abs(numeric), Math.abs(g[index]!), 1e-6);
        if (!(Math.abs(g[index]!) > 0) || relative > 2e-2) failures.push(`${name}[${index}]: autodiff ${g[index]} vs numeric ${numeric}`);
      }
      assert.deepEqual(failures, []);
    } finally {
      model.dispose();
    }
  });

  it('wasm and cpu agree on one step\'s gradients to 1e-4 relative', async () => {
    const results: Map<string, Float32Array>[] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      const model = await onBackend(backend);
      try {
        results.push(analyticGrads(model, objective(model, randomSamples(4, 'agree'))));
      } finally {
        model.dispose();
      }
    }
    const [wasm, cpu] = results as [Map<string, Float32Array>, Map<string, Float32Array>];
    assert.deepEqual([...wasm.keys()].sort(), [...cpu.keys()].sort());
    for (const [name, a] of wasm) {
      const b = cpu.get(name)!;
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
        norm = Math.max(norm, Math.abs(b[i]!));
      }
      assert.ok(diff <= 1e-4 * Math.max(norm, 1e-6), `${name}: max diff ${diff} vs max |g| ${norm}`);
    }
  });
});
