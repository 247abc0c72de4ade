/**
 * The webgpu backend trains: two real steps of the tiny preset (both passes, contrastive + LM
 * loss, AdamW) through tfjs-backend-webgpu on Dawn, on a CPU driver — Dawn's OpenGL ES backend
 * over Mesa's llvmpipe in WebGPU compatibility mode (`webgpu.dawn_options: ["backend=opengles"]`,
 * `webgpu.feature_level: compatibility`), so no GPU is needed — against the tfjs cpu backend on
 * the same data and seed: losses within 1e-4 relative, and no tensor growth from step to step.
 * Skipped, saying why, where the webgpu packages or an EGL/GLES driver are missing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadWebgpuBackend } from '../../src/backend/webgpu.js';
import { tf } from '../../src/backend/tf.js';
import { LocalComm } from '../../src/train/comm.js';
import { tinySession } from '../helpers/kernel-census.js';

const CPU_DRIVER = { 'webgpu.dawn_options': ['backend=opengles'], 'webgpu.feature_level': 'compatibility' };

let skip: string | false = false;
try {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  await loadWebgpuBackend({ dawnOptions: CPU_DRIVER['webgpu.dawn_options'], featureLevel: 'compatibility' });
  await tf.setBackend('cpu');
} catch (err) {
  skip = `webgpu is not usable here: ${(err as Error).message.split('\n')[0]}`;
}

async function twoSteps(backend: 'cpu' | 'webgpu') {
  const { session, remove } = await tinySession(backend, backend === 'webgpu' ? CPU_DRIVER : {});
  try {
    assert.equal(session.backend, backend);
    const samples = await session.encode(session.shards.next(session.config.train.global_batch, 1).perRank[0]!);
    const steps: { loss: number; lossLm: number | null; lossCl: number | null; tensors: number }[] = [];
    for (let s = 0; s < 2; s++) {
      const r = await session.stepper.run([samples], new LocalComm());
      steps.push({ loss: r.loss, lossLm: r.lossLm, lossCl: r.lossCl, tensors: tf.memory().numTensors });
    }
    return steps;
  } finally {
    await remove();
  }
}

describe('the webgpu backend trains (Dawn GLES on llvmpipe)', { skip }, () => {
  it('two tiny steps match the cpu backend within 1e-4 relative, with no tensor growth', async () => {
    const cpu = await twoSteps('cpu');
    const webgpu = await twoSteps('webgpu');
    webgpu.forEach((s, i) => {
      const e = cpu[i]!;
      for (const key of ['loss', 'lossLm', 'lossCl'] as const) {
        const a = s[key]!;
        const b = e[key]!;
        assert.ok(Math.abs(a - b) <= 1e-4 * Math.abs(b), `step ${i + 1} ${key}: webgpu ${a} vs cpu ${b}`);
      }
    });
    assert.equal(webgpu[1]!.tensors, webgpu[0]!.tensors, `tensors after each step: ${webgpu.map((s) => s.tensors).join(', ')}`);
  });
});
