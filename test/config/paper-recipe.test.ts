/**
 * The quality options added for from-scratch training (issue 16) default to the paper's method,
 * so the paper preset and the tiny preset train exactly as before: LoRA on a frozen backbone,
 * frozen encoder, mixed batches, raw cosines with every negative and the Eq. 4 mask from step 1,
 * the LM loss from <USER>. The small preset is the one that turns them on.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';

const load = (name: string) => loadConfig({ file: join(process.cwd(), 'configs', `${name}.json`), env: {} });
const recipe = (name: string) => {
  const c = load(name);
  return {
    finetune: c.model.finetune, train_encoder: c.model.train_encoder, residual_init: c.model.residual_init, lm_start: c.model.lm_start, pooling: c.model.pooling,
    batching: c.data.batching, mask: c.train.mask, mask_warmup_steps: c.train.mask_warmup_steps, negatives: c.train.negatives, center: c.train.center,
    drop_duplicate_answers: c.train.drop_duplicate_answers, neg_user_user: c.train.neg_user_user, neg_answer_answer: c.train.neg_answer_answer,
  };
};
const PAPER = {
  finetune: 'lora', train_encoder: false, residual_init: 'uniform', lm_start: 'user', pooling: 'user_token', batching: 'mixed', mask: 'eq4', mask_warmup_steps: 0,
  negatives: 'all', center: false, drop_duplicate_answers: false, neg_user_user: true, neg_answer_answer: true,
};

describe('quality options keep the paper recipe by default', () => {
  for (const name of ['paper-qwen2.5-0.5b', 'tiny']) {
    it(`${name}: the paper's method`, () => assert.deepEqual(recipe(name), PAPER));
  }
  it('small: the from-scratch recipe (docs/quality.md)', () => {
    assert.deepEqual(recipe('small'), {
      ...PAPER, finetune: 'full', train_encoder: true, residual_init: 'depth_scaled', batching: 'by_instruction', mask: 'relative', mask_warmup_steps: 50,
      center: true, drop_duplicate_answers: true, neg_user_user: false, neg_answer_answer: false,
    });
  });
});
