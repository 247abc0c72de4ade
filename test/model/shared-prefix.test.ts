/**
 * Embedding under several instructions from one cached prefix (InstructUE.usersFromSharedPrefix,
 * Qwen2Decoder.prefill/extend) against whole-prompt forwards of each instruction: rows with
 * different prefix lengths (0–3 records per source), per-row instructions, none, and learned
 * vectors. Equal to float rounding: the cached path multiplies matrices of other shapes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { tf } from '../../src/backend/tf.js';
import type { EncodedSample } from '../../src/data/types.js';
import type { InstructUE } from '../../src/model/instructue.js';
import { silentLogger } from '../../src/log.js';
import { Rng } from '../../src/util/rng.js';
import { randomSamples, tinyModel } from '../helpers/tiny-model.js';

describe('shared-prefix embedding', () => {
  let model: InstructUE;
  before(async () => {
    await selectBackend('wasm', silentLogger);
    model = tinyModel();
  });
  after(() => model.dispose());

  const whole = (samples: EncodedSample[], vectors: Float32Array | null, k: number) => tf.tidy(() => {
    const batch = model.prepare(samples, { withAnswer: false, instructionVectors: k });
    try {
      const instruction_kD = vectors ? tf.tensor2d(vectors, [k, model.hidden]) : undefined;
      return model.userForward(batch, { withAnswer: false, instruction_kD }).user_BD.dataSync() as Float32Array;
    } finally {
      batch.dispose();
    }
  });

  it('gives every variant the embeddings of its own whole-prompt forward, to float rounding', () => {
    const rng = new Rng('shared-prefix');
    const own = randomSamples(7, 'prefix'); // instructions on even rows, none on odd ones
    const universal = own.map((s) => ({ ...s, instruction: null }));
    const fixed = own.map((s) => ({ ...s, instruction: [11, 12, 13, 14, 15] }));
    const k = 3;
    const vectors = rng.normalArray(k * model.hidden, 0.5);
    const variants = [
      { samples: universal, vectors: null, k: 0 },
      { samples: own, vectors: null, k: 0 },
      { samples: fixed, vectors: null, k: 0 },
      { samples: fixed, vectors, k },
      { samples: universal, vectors, k },
    ];
    const run = () => tf.tidy(() => {
      const prefix = model.prepare(universal, { withAnswer: false });
      try {
        const users = model.usersFromSharedPrefix(prefix, variants.map((v) => ({ samples: v.samples, instruction_kD: v.vectors ? tf.tensor2d(v.vectors, [v.k, model.hidden]) : null })));
        return users.map((u) => u.dataSync() as Float32Array);
      } finally {
        prefix.dispose();
      }
    });
    const shared = run();
    // A second pass: the first may grow the decoder's cached RoPE tables (kept, not a leak).
    const before = tf.memory().numTensors;
    assert.deepEqual(run(), shared, 'deterministic');
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    const lengths = new Set(model.prepare(universal, { withAnswer: false }).prompt.embedPos);
    assert.ok(lengths.size >= 3, `the rows' prefixes must differ in length (${[...lengths]})`);
    variants.forEach((v, i) => {
      const expected = whole(v.samples, v.vectors, v.k);
      let diff = 0;
      let scale = 0;
      expected.forEach((x, j) => {
        diff = Math.max(diff, Math.abs(x - shared[i]![j]!));
        scale = Math.max(scale, Math.abs(x));
      });
      assert.ok(scale > 0.1, `variant ${i}: embeddings of scale ${scale}`);
      assert.ok(diff <= 1e-5 * scale, `variant ${i}: max |Δ| ${diff} against max |x| ${scale}`);
    });
    // The variants differ from each other (the continuation matters, not only the prefix).
    const gap = shared[0]!.reduce((m, x, j) => Math.max(m, Math.abs(x - shared[2]![j]!)), 0);
    assert.ok(gap > 1e-3, `an instruction must change the embedding (max |Δ| ${gap})`);
  });

  it('refuses a prefix prepared with an instruction', () => {
    const samples = randomSamples(2, 'refuse');
    const batch = model.prepare(samples, { withAnswer: false });
    try {
      assert.throws(() => model.usersFromSharedPrefix(batch, []), /the shared prefix must be the universal prompt/);
    } finally {
      batch.dispose();
    }
  });
});
