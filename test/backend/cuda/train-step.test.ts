/**
 * The whole product path on the cuda backend (host driver): a tiny-preset TrainingSession
 * chosen through the config (`backend: cuda`, `cuda.driver: host`) runs two real train steps —
 * both passes, the gathered contrastive loss, the LM loss, AdamW — and the eval embedding
 * forward, and matches the tfjs cpu backend on the same data and seed: losses and gradient
 * norms within 1e-5 relative, the updated weights within 1e-5 relative L2, the same
 * embeddings, and no tensor growth across steps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tf } from '../../../src/backend/tf.js';
import { embedEncoded } from '../../../src/eval/embed.js';
import { LocalComm } from '../../../src/train/comm.js';
import { tinySession } from '../../helpers/kernel-census.js';
import { relativeL2 } from './compare.js';

interface Run {
  steps: { loss: number; lossLm: number | null; lossCl: number | null; gradNorm: number }[];
  params: Float32Array;
  embeddings: Float32Array;
  tensors: number[];
}

async function train(backend: 'cpu' | 'cuda'): Promise<Run> {
  const { session, remove } = await tinySession(backend, backend === 'cuda' ? { 'cuda.driver': 'host' } : {});
  try {
    assert.equal(session.backend, backend);
    const samples = await session.encode(session.shards.next(session.config.train.global_batch, 1).perRank[0]!);
    const run: Run = { steps: [], params: new Float32Array(0), embeddings: new Float32Array(0), tensors: [tf.memory().numTensors] };
    for (let s = 0; s < 2; s++) {
      const r = await session.stepper.run([samples], new LocalComm());
      run.steps.push({ loss: r.loss, lossLm: r.lossLm, lossCl: r.lossCl, gradNorm: r.gradNorm });
      run.tensors.push(tf.memory().numTensors);
    }
    run.params = session.stepper.parameters.slice();
    run.embeddings = embedEncoded(session.built.model, samples);
    return run;
  } finally {
    await remove();
  }
}

describe('the tiny train step on cuda (host driver) against cpu', () => {
  it('two steps and the eval embeddings agree; no tensor growth', async () => {
    const cpu = await train('cpu');
    const cuda = await train('cuda');
    const close = (a: number | null, b: number | null, what: string) => {
      assert.ok(a !== null && b !== null, what);
      assert.ok(Math.abs(a - b) <= 1e-5 * Math.abs(b), `${what}: cuda ${a} vs cpu ${b}`);
    };
    cuda.steps.forEach((s, i) => {
      const e = cpu.steps[i]!;
      close(s.loss, e.loss, `step ${i + 1} loss`);
      close(s.lossLm, e.lossLm, `step ${i + 1} LM loss`);
      close(s.lossCl, e.lossCl, `step ${i + 1} contrastive loss`);
      close(s.gradNorm, e.gradNorm, `step ${i + 1} gradient norm`);
    });
    assert.equal(cuda.params.length, cpu.params.length);
    assert.ok(relativeL2(cuda.params, cpu.params) <= 1e-5, `weights after 2 steps: relative L2 ${relativeL2(cuda.params, cpu.params)}`);
    assert.ok(relativeL2(cuda.embeddings, cpu.embeddings) <= 1e-5, `embeddings: relative L2 ${relativeL2(cuda.embeddings, cpu.embeddings)}`);
    assert.equal(new Set(cuda.tensors.slice(1)).size, 1, `tensors after each step: ${cuda.tensors.join(', ')}`);
    assert.deepEqual(cuda.tensors.slice(1), cpu.tensors.slice(1), 'as many live tensors as on cpu');
  });
});
