/**
 * The cuda backend's conformance suite (conformance.ts) on a real GPU: the device driver
 * (libcuda, NVRTC CUBIN for the device's sm, cuBLAS in fp32) against the tfjs cpu backend,
 * within 1e-5 relative. Runs wherever libcuda loads and sees a GPU (cuda.device 0, or
 * INSTRUCTUE_CUDA_DEVICE); elsewhere it is skipped and says why. scripts/gpu/cuda-checks.sh runs
 * it on the lent GPU machine.
 */
import { describe, it } from 'node:test';
import { loadCudaBackend, cudaAbsence } from '../../../src/backend/cuda/load.js';
import { tf } from '../../../src/backend/tf.js';
import { defineConformanceSuite } from './conformance.js';

tf.env().set('PROD', true);
const absent = cudaAbsence();
if (absent !== null) {
  describe('cuda kernels on a GPU', () => {
    it('runs the conformance suite on the device', { skip: `no GPU here: ${absent}` }, () => {});
  });
} else {
  const { info } = await loadCudaBackend({ device: Number(process.env.INSTRUCTUE_CUDA_DEVICE ?? 0) });
  console.log(`# device: ${info.name} (sm ${info.computeCapability.join('.')}), ${Object.entries(info.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const backend = tf.engine().findBackend('cuda') as unknown as { memory(): { numBytesInGPU: number } };
  await tf.setBackend('cpu');
  defineConformanceSuite({ backendName: 'cuda', deviceBytes: () => backend.memory().numBytesInGPU, rtol: 1e-5 });
}
