/**
 * The cuda backend's phase-0 probe (research/gpu-path.md §4.4 step 1), through the same
 * driver the backend uses: the device and library versions, the cost of one kernel launch
 * (20,000 launches of a 1,024-element kernel, then one synchronise), of one small tfjs op end
 * to end (engine + packing + launch), of a small synchronous readback, and cuBLAS SGEMM
 * throughput in fp32 and TF32 at the Qwen2.5-0.5B layer shapes (tokens × 896 × 4864 and back,
 * the q/k/v/o projections) and 4096³. Prints one JSON object.
 *
 *   node dist/scripts/gpu/cuda-probe.js [--driver device|host] [--launches 20000] [--tokens 4096]
 *
 * `--driver host` runs the same measurements through the host driver (a rehearsal on a machine
 * without a GPU: the numbers then describe the CPU and mean nothing for a GPU).
 */
import { parseArgs } from 'node:util';
import { DeviceDriver } from '../../src/backend/cuda/device-driver.js';
import type { CudaDriver } from '../../src/backend/cuda/driver.js';
import { HostDriver } from '../../src/backend/cuda/host/host-driver.js';
import { packParams } from '../../src/backend/cuda/kernel-source.js';
import { gemmCall } from '../../src/backend/cuda/kernels/matmul.js';
import { loadCudaBackend } from '../../src/backend/cuda/load.js';
import { allKernelSources } from '../../src/backend/cuda/registry.js';
import { tf } from '../../src/backend/tf.js';

const { values } = parseArgs({ options: { driver: { type: 'string', default: 'device' }, launches: { type: 'string', default: '20000' }, tokens: { type: 'string', default: '4096' } } });
const host = values.driver === 'host';
const launches = Number(values.launches);
const kernels = allKernelSources();
const out: Record<string, unknown> = { driver: values.driver };

function makeDriver(tf32: boolean): CudaDriver {
  return host ? new HostDriver({ kernels }) : new DeviceDriver({ kernels, tf32 });
}

function timeMs(driver: CudaDriver, fn: () => void): number {
  driver.synchronize();
  const start = performance.now();
  fn();
  driver.synchronize();
  return performance.now() - start;
}

const fp32 = makeDriver(false);
out.device = fp32.info;

// Launch cost: a 1,024-element kernel (4 blocks of 256) launched back to back.
const n = 1024;
const x = fp32.alloc(4 * n);
const y = fp32.alloc(4 * n);
fp32.upload(x, new Float32Array(n).fill(1));
const neg = kernels.find((k) => k.name === 'un_neg_f32')!;
const params = packParams(neg, [y, x, n]);
fp32.launch(neg.name, [4, 1, 1], [256, 1, 1], params);
const launchMs = timeMs(fp32, () => {
  for (let i = 0; i < launches; i++) fp32.launch(neg.name, [4, 1, 1], [256, 1, 1], params);
});
out.launch_us = +((launchMs * 1000) / launches).toFixed(2);
const packMs = timeMs(fp32, () => {
  for (let i = 0; i < launches; i++) fp32.launch(neg.name, [4, 1, 1], [256, 1, 1], packParams(neg, [y, x, n]));
});
out.launch_with_packing_us = +((packMs * 1000) / launches).toFixed(2);
const back = new Float32Array(n);
fp32.download(back, y);
out.launch_result_correct = back.every((v) => v === -1);

// Small synchronous readback (what dataSync of a loss costs).
const reads = 200;
const readMs = timeMs(fp32, () => {
  for (let i = 0; i < reads; i++) fp32.download(back, y);
});
out.readback_4KiB_us = +((readMs * 1000) / reads).toFixed(1);
fp32.free(x);
fp32.free(y);

// cuBLAS SGEMM at the layer's shapes (row-major [m,k]·[k,n]), fp32 then TF32.
const t = Number(values.tokens);
const shapes: Record<string, [number, number, number]> = host
  ? { '256x896x512': [256, 896, 512] }
  : { '4096^3': [4096, 4096, 4096], [`${t}x896x4864 (gate/up)`]: [t, 896, 4864], [`${t}x4864x896 (down)`]: [t, 4864, 896], [`${t}x896x896 (q/o)`]: [t, 896, 896], [`${t}x896x128 (k/v)`]: [t, 896, 128] };
function gemmTflops(driver: CudaDriver): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [name, [m, k, nn]] of Object.entries(shapes)) {
    const a = driver.alloc(4 * m * k);
    const b = driver.alloc(4 * k * nn);
    const c = driver.alloc(4 * m * nn);
    driver.fill32(a, 0x3c23d70a, m * k); // 0.01
    driver.fill32(b, 0x3c23d70a, k * nn);
    const call = gemmCall({ m, n: nn, k, transposeA: false, transposeB: false, a, b, c, strideA: 0, strideB: 0, batch: 1 });
    driver.gemm(call);
    const reps = host ? 1 : 20;
    const ms = timeMs(driver, () => {
      for (let i = 0; i < reps; i++) driver.gemm(call);
    }) / reps;
    result[name] = +((2 * m * k * nn) / ms / 1e9).toFixed(2);
    for (const p of [a, b, c]) driver.free(p);
  }
  return result;
}
out.sgemm_fp32_tflops = gemmTflops(fp32);
if (!host) {
  const tf32 = makeDriver(true);
  out.sgemm_tf32_tflops = gemmTflops(tf32);
  tf32.dispose();
}
fp32.dispose();

// One small tfjs op end to end on the backend (engine, output allocation, packing, launch).
await loadCudaBackend({ driver: host ? 'host' : 'device' });
const a = tf.ones([32, 32]);
const ops = 2000;
let acc = tf.add(a, a);
await acc.data();
const start = performance.now();
for (let i = 0; i < ops; i++) {
  const next = tf.add(acc, a);
  acc.dispose();
  acc = next;
}
await acc.data();
out.tfjs_add_us = +(((performance.now() - start) * 1000) / ops).toFixed(1);
out.tfjs_add_result_correct = (await acc.data())[0] === ops + 2;
tf.dispose([a, acc]);
console.log(JSON.stringify(out, null, 2));
