import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { tf } from '../../src/backend/tf.js';
import type { EncodedSample } from '../../src/data/types.js';
import { silentLogger } from '../../src/log.js';
import { LocalComm, type StepComm } from '../../src/train/comm.js';
import { rankMicroBatches } from '../../src/train/micro-batches.js';
import { Stepper, type StepConfig, type StepResult } from '../../src/train/step.js';
import { inProcessGroup } from '../helpers/in-process-comm.js';
import { randomSamples, tinyModel } from '../helpers/tiny-model.js';

const config: StepConfig = {
  alphaLm: 1,
  alphaCl: 1,
  contrastive: { tau: 0.1, margin: 0.1, userAnswer: true, userUser: true, answerAnswer: true },
  schedule: { peak: 5e-3, warmupSteps: 1, totalSteps: 10, minRatio: 0.1 },
  gradClip: 1,
  adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
  exactSum: false,
};

/**
 * Runs `steps` steps with the global batches split over `world` in-process ranks: one
 * micro-batch per rank (`microBatch` 0), or whole micro-batches of that size.
 */
async function run(world: number, batches: EncodedSample[][], steps: number, stepConfig = config, microBatch = 0, model = () => tinyModel()): Promise<{ results: StepResult[][]; params: Float32Array[] }> {
  const comms: StepComm[] = world === 1 ? [new LocalComm()] : inProcessGroup(world);
  const steppers = comms.map(() => new Stepper(model(), stepConfig));
  const results: StepResult[][] = [];
  for (let s = 0; s < steps; s++) {
    const global = batches[s]!;
    const per = global.length / world;
    const chunks = (r: number) => (microBatch > 0 ? rankMicroBatches(global, microBatch, world, r) : [global.slice(r * per, (r + 1) * per)]);
    results.push(await Promise.all(steppers.map((st, r) => st.run(chunks(r), comms[r]!))));
  }
  const params = steppers.map((st) => st.parameters.slice());
  steppers.forEach((st) => st.model.dispose());
  return { results, params };
}

/** ‖a − b‖∞ / ‖b‖∞: the largest weight difference relative to the largest weight. */
function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    norm = Math.max(norm, Math.abs(b[i]!));
  }
  return diff / norm;
}

describe('train step', () => {
  before(async () => {
    await selectBackend('wasm', silentLogger);
  });

  it('N ranks with local batch b give the update of one rank with batch N·b', async () => {
    const batches = Array.from({ length: 4 }, (_, s) => randomSamples(8, `exact-${s}`));
    const single = await run(1, batches, 4);
    for (const world of [2, 4]) {
      const split = await run(world, batches, 4);
      for (let s = 0; s < 4; s++) {
        for (const r of split.results[s]!) {
          // Step 1 sees identical weights (only the sums' rounding differs); later steps see
          // weights that already differ at rounding level.
          const tol = s === 0 ? 1e-6 : 1e-5;
          assert.ok(Math.abs(r.lossCl! - single.results[s]![0]!.lossCl!) < tol, `world ${world} step ${s + 1}: lossCl ${r.lossCl} vs ${single.results[s]![0]!.lossCl}`);
          assert.ok(Math.abs(r.lossLm! - single.results[s]![0]!.lossLm!) < 1e-5, `world ${world} step ${s + 1}: lossLm`);
          assert.equal(r.globalBatch, 8);
        }
      }
      for (const p of split.params) {
        assert.deepEqual(p, split.params[0], 'replicas must be bit-identical');
        assert.ok(maxRelDiff(p, single.params[0]!) < 1e-5, `world ${world}: weights differ by ${maxRelDiff(p, single.params[0]!)}`);
      }
    }
  });

  it('with the exact sum, 1, 2, 3 and 4 ranks take bit-identical steps (micro-batches of 2)', async () => {
    const exact = { ...config, exactSum: true };
    const batches = Array.from({ length: 6 }, (_, s) => randomSamples(8, `bits-${s}`));
    const single = await run(1, batches, 6, exact, 2);
    for (const world of [2, 3, 4]) {
      const split = await run(world, batches, 6, exact, 2);
      for (const [s, step] of split.results.entries()) for (const r of step) assert.equal(r.lossCl, single.results[s]![0]!.lossCl, `world ${world} step ${s + 1}`);
      for (const p of split.params) assert.deepEqual(p, single.params[0], `world ${world}: weights must equal one rank's to the bit`);
    }
    // …and stay close to the float32 sum (the fixed-point resolution is 2^-46 of each tensor's largest term).
    const plain = await run(1, batches, 6, config, 2);
    assert.ok(maxRelDiff(single.params[0]!, plain.params[0]!) < 1e-5, `exact vs float32 sum: ${maxRelDiff(single.params[0]!, plain.params[0]!)}`);
  });

  it('the from-scratch recipe (full fine-tuning, trainable encoder, centred scores, duplicate answers dropped, same-instruction negatives, relative mask after a warm-up) is bit-identical on 1–3 ranks', async () => {
    const recipe: StepConfig = {
      ...config, exactSum: true,
      contrastive: { ...config.contrastive, center: true, dropDuplicateAnswers: true, negatives: 'same_instruction', mask: 'relative', margin: 1, maskWarmupSteps: 2 },
    };
    // Repeated answers and a shared instruction, as template answers in one topic have.
    const batches = Array.from({ length: 4 }, (_, s) => randomSamples(8, `recipe-${s}`).map((x, i, all) => ({ ...x, answer: all[i % 3]!.answer, instruction: i % 4 === 0 ? null : all[1]!.instruction })));
    const full = () => tinyModel({ finetune: 'full', trainEncoder: true });
    const single = await run(1, batches, 4, recipe, 2, full);
    assert.ok(single.results.every(([r]) => Number.isFinite(r!.lossCl) && r!.lossCl! > 0), 'finite positive L_cl');
    for (const world of [2, 3]) {
      const split = await run(world, batches, 4, recipe, 2, full);
      for (const [s, step] of split.results.entries()) for (const r of step) assert.equal(r.lossCl, single.results[s]![0]!.lossCl, `world ${world} step ${s + 1}`);
      for (const p of split.params) assert.deepEqual(p, single.params[0], `world ${world}: weights must equal one rank's to the bit`);
    }
  });

  it('a rank with no samples still takes part and keeps replicas equal', async () => {
    const batches = [randomSamples(3, 'tail')];
    const comms = inProcessGroup(2);
    const steppers = comms.map(() => new Stepper(tinyModel(), config));
    const [a, b] = await Promise.all([steppers[0]!.run([batches[0]!], comms[0]!), steppers[1]!.run([], comms[1]!)]);
    assert.equal(a.globalBatch, 3);
    assert.equal(b.lossCl, a.lossCl);
    assert.deepEqual(steppers[0]!.parameters, steppers[1]!.parameters);
    steppers.forEach((st) => st.model.dispose());
  });

  it('leaves no tensors behind over 20 steps', async () => {
    const stepper = new Stepper(tinyModel(), config);
    const comm = new LocalComm();
    await stepper.run([randomSamples(4, 'warm')], comm);
    const before = tf.memory().numTensors;
    for (let s = 0; s < 20; s++) await stepper.run([randomSamples(2, `leak-${s}`), randomSamples(2, `leak-b${s}`)], comm);
    assert.equal(tf.memory().numTensors, before);
    stepper.model.dispose();
  });
});
