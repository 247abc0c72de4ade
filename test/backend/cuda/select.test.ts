/**
 * Choosing the cuda backend: an explicit `backend: cuda` without a GPU fails with a message that
 * names libcuda, where it was looked for and how to supply it; `auto` says in one line why cuda is
 * out and falls back; `cuda.driver: host` brings the backend up on the CPU (the route the train
 * step test takes); every driver-API and cuBLAS prototype parses with koffi; and BatchMatMul's
 * gradient uses transpose flags on cuda (no Transpose kernels) but explicit transposes on cpu.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import koffi from 'koffi';
import { cudaAbsence } from '../../../src/backend/cuda/load.js';
import { PROTOTYPES } from '../../../src/backend/cuda/libcuda.js';
import { selectBackend } from '../../../src/backend/select.js';
import { tf } from '../../../src/backend/tf.js';
import { createLogger } from '../../../src/log.js';
import { census, wrapKernels } from '../../helpers/kernel-census.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger({}, { write: (l) => lines.push(JSON.parse(l)) }) };
}

const gpu = cudaAbsence() === null;

describe('selecting the cuda backend', () => {
  it('backend cuda without a GPU names libcuda, the places searched and the fix', { skip: gpu && 'a GPU is present here' }, async () => {
    await assert.rejects(selectBackend('cuda', capture().log), (err: Error) => {
      assert.match(err.message, /backend "cuda" is not available: libcuda \(the NVIDIA driver API\) not found/);
      assert.match(err.message, /looked for libcuda\.so\.1, libcuda\.so in: .*ldconfig -p/);
      assert.match(err.message, /NVIDIA driver.*INSTRUCTUE_CUDA_LIBS/);
      return true;
    });
  });

  it('auto without a GPU logs why cuda is out, then falls back', { skip: gpu && 'a GPU is present here' }, async () => {
    const { lines, log } = capture();
    assert.equal(await selectBackend('auto', log), 'wasm');
    const line = lines.find((l) => l.msg === 'cuda not available, falling back');
    assert.ok(line, JSON.stringify(lines));
    assert.match(String(line.reason), /libcuda/);
  });

  it('cuda.driver host brings the backend up on the CPU and logs the device', async () => {
    const { lines, log } = capture();
    assert.equal(await selectBackend('cuda', log, { cuda: { driver: 'host' } }), 'cuda');
    assert.equal(tf.getBackend(), 'cuda');
    const line = lines.find((l) => l.msg === 'backend selected')!;
    assert.equal(line.backend, 'cuda');
    assert.match(String(line.device), /^host \(/);
    assert.deepEqual(Array.from(tf.add(tf.tensor1d([1, 2]), tf.scalar(3)).dataSync()), [4, 5]);
  });

  it('every driver-API and cuBLAS prototype parses with koffi', () => {
    // koffi.proto also declares a type of the function's name: make each name unique (two
    // prototypes bind cuMemcpyHtoDAsync_v2, with a pointer and with an address source).
    PROTOTYPES.forEach((proto, i) => assert.doesNotThrow(() => koffi.proto(proto.replace(/(\w+)\(/, `$1_${i}(`)), proto));
  });

  it("BatchMatMul's gradient takes transpose flags on cuda and explicit transposes on cpu", async () => {
    const transposes = async (backend: string) => {
      await tf.setBackend(backend);
      wrapKernels(backend);
      const a = tf.randomNormal([2, 3, 4]);
      const b = tf.randomNormal([2, 4, 5]);
      const c = await census(() => tf.dispose(tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y)))([a, b])));
      tf.dispose([a, b]);
      return { transposes: c.backward.get('Transpose') ?? 0, matmuls: c.backward.get('BatchMatMul') ?? 0 };
    };
    await selectBackend('cpu', capture().log);
    assert.deepEqual(await transposes('cpu'), { transposes: 2, matmuls: 2 });
    await selectBackend('cuda', capture().log, { cuda: { driver: 'host' } });
    assert.deepEqual(await transposes('cuda'), { transposes: 0, matmuls: 2 });
  });
});
