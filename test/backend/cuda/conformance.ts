/**
 * The cuda backend's conformance suite, run against any driver behind the `CudaDriver` seam:
 * host-conformance.test.ts (the host driver, every CI run) and device-conformance.test.ts (a
 * real GPU, where one is present). It checks
 *
 * - every case of cases.ts against the tfjs cpu backend (shape, dtype, every value), and that
 *   each case leaves no tensor, data id or device byte behind;
 * - that every registered kernel has a case, and that every kernel the product's code paths
 *   dispatch (the census of test/helpers/kernel-census.ts) is registered;
 * - refcounting: Reshape/Identity/no-op Cast share one buffer that lives until its last user;
 * - the gradients of a 1-layer Qwen2 with LoRA on all seven projections (tf.variableGrads of
 *   a random readout of the final hidden states of a padded batch) against cpu, each within
 *   `rtol` in relative L2;
 * - `tf.time` and `tf.memory()` on the backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kernelNames } from '../../../src/backend/cuda/registry.js';
import { tf } from '../../../src/backend/tf.js';
import { buildQwen2, LORA_TARGETS } from '../../../src/model/build-backbones.js';
import { ParameterStore } from '../../../src/model/parameters.js';
import { WeightReader } from '../../../src/model/weight-source.js';
import { Rng } from '../../../src/util/rng.js';
import { conformanceCases, normal } from './cases.js';
import { assertResultsClose, maxAbs, relativeL2, runOn, type Result } from './compare.js';

/** The kernels the product dispatches (tiny train step, eval, instruction tuning, LoRA dropout, trainable gather). */
export const PRODUCT_KERNELS = [
  'Add', 'BatchMatMul', 'Cast', 'Concat', 'Equal', 'Erf', 'Exp', 'Floor', 'GatherV2', 'Identity', 'Log', 'Max', 'Mean', 'Multiply', 'Neg',
  'OneHot', 'Pow', 'RealDiv', 'Reshape', 'Rsqrt', 'Sigmoid', 'Slice', 'Softmax', 'SplitV', 'Sqrt', 'Square', 'Sub', 'Sum', 'Tile', 'Transpose',
  'UnsortedSegmentSum',
];

export interface SuiteTarget {
  /** The registered tfjs backend name under test. */
  backendName: string;
  /** Bytes the driver holds right now (nothing may leak). */
  deviceBytes(): number;
  rtol: number;
}

function memoryState(target: SuiteTarget) {
  const backend = tf.engine().findBackend(target.backendName)!;
  return { tensors: tf.memory().numTensors, dataIds: backend.numDataIds(), bytes: target.deviceBytes() };
}

export function defineConformanceSuite(target: SuiteTarget): void {
  const tol = (expected: Result[]) => ({ rtol: target.rtol, floor: Math.max(1e-30, 0.01 * Math.max(...expected.map((e) => (e.dtype === 'float32' ? maxAbs(e.values) : 0)))) });

  describe(`cuda kernels on ${target.backendName} against the tfjs cpu backend`, () => {
    const cases = conformanceCases();
    for (const c of cases) {
      it(c.name, () => {
        const before = memoryState(target);
        const expected = runOn('cpu', c.inputs, c.reference ?? c.fn);
        const actual = runOn(target.backendName, c.inputs, c.fn);
        assertResultsClose(actual, expected, tol(expected), c.name);
        assert.deepEqual(memoryState(target), before, `${c.name}: tensors, data ids and device bytes are back where they were`);
      });
    }

    it('every registered kernel has a conformance case', () => {
      const covered = new Set(cases.map((c) => c.kernel));
      assert.deepEqual(kernelNames().filter((k) => !covered.has(k)), []);
    });

    it("every kernel the product's code paths dispatch is registered", () => {
      const registered = new Set(kernelNames());
      assert.deepEqual(PRODUCT_KERNELS.filter((k) => !registered.has(k)), []);
    });
  });

  describe(`cuda buffers on ${target.backendName}: refcounts and dispose`, () => {
    it('Reshape, Identity and a no-op Cast share one buffer that lives until its last tensor', () => {
      tf.setBackend(target.backendName);
      const before = memoryState(target);
      const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
      const afterX = memoryState(target);
      const r = x.reshape([3, 2]);
      const i = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
      const c = tf.cast(x, 'float32');
      assert.equal(memoryState(target).dataIds, afterX.dataIds, 'no new buffer');
      assert.equal(memoryState(target).bytes, afterX.bytes, 'no new device bytes');
      x.dispose();
      i.dispose();
      assert.deepEqual(Array.from(r.dataSync()), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3, 4, 5, 6]);
      r.dispose();
      assert.equal(memoryState(target).bytes, afterX.bytes, 'alive while one tensor remains');
      c.dispose();
      assert.deepEqual(memoryState(target), before);
      tf.setBackend('cpu');
    });

    it('tensors made on cpu move to the backend on first use and are freed there', () => {
      tf.setBackend('cpu');
      const x = tf.tensor1d([1, -2, 3]);
      tf.setBackend(target.backendName);
      const before = memoryState(target);
      const y = tf.neg(x);
      assert.deepEqual(Array.from(y.dataSync()), [-1, 2, -3]);
      tf.dispose([x, y]);
      assert.equal(memoryState(target).bytes, before.bytes - 0, 'x moved here (3 floats) and was freed with y');
      tf.setBackend('cpu');
    });

    it('tf.time measures kernels and tf.memory reports device bytes', async () => {
      tf.setBackend(target.backendName);
      const x = tf.ones([64, 64]);
      const timing = await tf.time(() => tf.dispose(tf.matMul(x, x)));
      assert.ok(typeof timing.kernelMs === 'number' && timing.kernelMs >= 0, JSON.stringify(timing));
      const mem = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; unreliable: boolean };
      assert.equal(mem.unreliable, false);
      assert.ok(mem.numBytesInGPU! >= 64 * 64 * 4, `numBytesInGPU ${mem.numBytesInGPU}`);
      x.dispose();
      tf.setBackend('cpu');
    });
  });

  describe(`gradients of a 1-layer Qwen2 + LoRA on ${target.backendName} against cpu`, () => {
    it('tf.variableGrads of a random readout of the padded batch: the loss and every LoRA gradient', () => {
      const dims = { hidden: 32, layers: 1, heads: 4, kvHeads: 2, headSize: 8, intermediate: 48, vocab: 16, ropeTheta: 1e6, rmsEps: 1e-6, maxPositions: 16 };
      const mask = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
      const input = normal([2, 9, 32]);
      // A random readout, not mean(h²): the final RMSNorm makes mean(h²) constant (zero gradient).
      const readout = normal([2, 9, 32]);
      const gradsOn = (backendName: string): Map<string, Float32Array> => {
        tf.setBackend(backendName);
        const store = new ParameterStore();
        const decoder = buildQwen2(dims, new WeightReader({ kind: 'random', seed: 'conformance', std: 0.2 }, store), LORA_TARGETS, { r: 4, alpha: 8, useRslora: false, dropout: 0, seed: 'conformance' });
        // LoRA B starts at zero, which would make every A gradient zero: give all trainables values.
        const rng = new Rng('conformance-trainables');
        for (const v of store.trainableVariables()) tf.tidy(() => v.assign(tf.tensor(rng.normalArray(v.size, 0.3), v.shape)));
        const x = tf.tensor3d(input.values as Float32Array, [2, 9, 32]);
        const w = tf.tensor3d(readout.values as Float32Array, [2, 9, 32]);
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(decoder.forward(x, mask), w)) as tf.Scalar, store.trainableVariables());
        const out = new Map<string, Float32Array>([['loss', value.dataSync() as Float32Array]]);
        for (const [name, g] of Object.entries(grads)) out.set(store.nameOf(name), g.dataSync() as Float32Array);
        tf.dispose([value, x, w, ...Object.values(grads)]);
        decoder.disposeCaches();
        store.dispose();
        return out;
      };
      const expected = gradsOn('cpu');
      const before = memoryState(target);
      const actual = gradsOn(target.backendName);
      assert.deepEqual(memoryState(target), before, 'the gradient step leaves nothing behind');
      tf.setBackend('cpu');
      assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
      assert.equal(expected.size, 1 + 2 * LORA_TARGETS.length);
      // Relative L2 per tensor: float32 reassociation moves single elements of a gradient by more
      // (tfjs's own wasm backend differs from cpu by ~1e-6 in L2 and up to 7e-5 in one element here).
      for (const [name, e] of expected) {
        assert.ok(maxAbs(e) > 0, `${name}: the reference gradient is not all zero`);
        const err = relativeL2(actual.get(name)!, e);
        assert.ok(err <= target.rtol, `${name}: relative L2 error ${err.toExponential(2)} > ${target.rtol}`);
      }
    });
  });
}
