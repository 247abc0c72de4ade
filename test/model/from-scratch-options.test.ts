/** From-scratch model options (issue 16): where the LM loss starts, and the depth-scaled random init. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layoutPrompts, type LayoutOptions } from '../../src/model/layout.js';
import { randomSamples } from '../helpers/tiny-model.js';

describe('layout: where the LM loss starts (model.lm_start)', () => {
  const opts: LayoutOptions = {
    preambleIds: [], instructionPrefixIds: [7], useSequences: true, useTabular: false, textOnly: false, tabularFeatures: 0,
    instructionVectors: 0, withAnswer: true, eosId: 5, padId: 0,
  };
  const samples = randomSamples(3, 'lm-start');

  it('user (default): <USER> predicts answer[0], each answer token the next, the last one eos', () => {
    const l = layoutPrompts(samples, opts);
    const expected = samples.flatMap((s, b) => [...s.answer, 5].map((label, j) => ({ row: b * l.length + l.embedPos[b]! + j, label })));
    assert.deepEqual(Array.from(l.lmRows, (row, i) => ({ row, label: l.lmLabels[i]! })), expected);
  });

  it('answer: the same targets without the first one, so the embedding position has no next-token target', () => {
    const user = layoutPrompts(samples, opts);
    const answer = layoutPrompts(samples, { ...opts, lmFromUser: false });
    const pairs = (l: typeof user) => Array.from(l.lmRows, (row, i) => ({ row, label: l.lmLabels[i]! }));
    const embedRows = new Set(samples.map((_, b) => b * user.length + user.embedPos[b]!));
    assert.deepEqual(pairs(answer), pairs(user).filter((p) => !embedRows.has(p.row)));
    assert.equal(answer.lmRows.length, user.lmRows.length - samples.length);
    assert.deepEqual(Array.from(answer.tokenIds), Array.from(user.tokenIds), 'the sequences are the same');
  });
});

describe('random init: depth-scaled residual projections (model.residual_init = depth_scaled)', () => {
  it('o_proj and down_proj get std / sqrt(2 · layers), every other projection std', async () => {
    const { selectBackend } = await import('../../src/backend/select.js');
    const { silentLogger } = await import('../../src/log.js');
    const { tinyModel } = await import('../helpers/tiny-model.js');
    await selectBackend('cpu', silentLogger);
    const std = 0.2;
    const model = tinyModel({ finetune: 'full', decoderSource: { kind: 'random', seed: 'dec', std, residualStd: std / Math.sqrt(4) } });
    try {
      const sd = (name: string) => {
        const x = Array.from(model.store.variable(name).dataSync());
        const mean = x.reduce((a, v) => a + v, 0) / x.length;
        return Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length);
      };
      for (const l of [0, 1]) {
        for (const name of [`model.layers.${l}.self_attn.o_proj.weight`, `model.layers.${l}.mlp.down_proj.weight`]) assert.ok(Math.abs(sd(name) / (std / 2) - 1) < 0.2, `${name}: ${sd(name)}`);
        for (const name of [`model.layers.${l}.self_attn.q_proj.weight`, `model.layers.${l}.mlp.up_proj.weight`]) assert.ok(Math.abs(sd(name) / std - 1) < 0.2, `${name}: ${sd(name)}`);
      }
    } finally {
      model.dispose();
    }
  });
});
