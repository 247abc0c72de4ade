/**
 * Benchmark: one GEMM at a time in the native BLAS, on one thread and on all of them, at the
 * shapes of the bench/model.ts layer cases (plus squares), interleaved over rounds. It shows
 * where more threads start to pay (SMALL_GEMM_MACS in src/backend/blas/batch-matmul.ts) and
 * what the built-in wasm matmul does at the same shapes.
 *
 *   node dist/bench/gemm.js [--threads N] [--rounds 5] [--json]
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { SMALL_GEMM_MACS } from '../src/backend/blas/batch-matmul.js';
import { installBlas } from '../src/backend/blas/install.js';
import { loadBlas } from '../src/backend/blas/openblas.js';
import { selectBackend } from '../src/backend/select.js';
import { tf } from '../src/backend/tf.js';
import { silentLogger } from '../src/log.js';

/** [m, n, k, transposeA, transposeB, what]. */
type Shape = [number, number, number, boolean, boolean, string];
const SHAPES: Shape[] = [
  [128, 128, 32, false, true, 'layer-small scores, one head'],
  [1024, 8, 128, false, false, 'layer-small LoRA A'],
  [1024, 128, 8, false, false, 'layer-small LoRA B'],
  [128, 8, 1024, true, false, 'layer-small LoRA A grad'],
  [896, 128, 64, false, true, 'layer-0.5b scores, one kv head'],
  [128, 896, 8, false, false, 'layer-0.5b LoRA B'],
  [1024, 128, 128, false, false, 'layer-small q/k/v/o'],
  [1024, 512, 128, false, false, 'layer-small gate/up'],
  [128, 896, 896, false, false, 'layer-0.5b q/o'],
  [256, 256, 256, false, false, 'square 256'],
  [128, 4864, 896, false, false, 'layer-0.5b gate/up'],
  [896, 4864, 128, true, false, 'layer-0.5b gate/up weight-shaped grad'],
  [512, 512, 512, false, false, 'square 512'],
  [1024, 1024, 1024, false, false, 'square 1024'],
];

const { values } = parseArgs({ options: { threads: { type: 'string', default: String(availableParallelism()) }, rounds: { type: 'string', default: '5' }, json: { type: 'boolean' } } });
const many = Number(values.threads);
const rounds = Number(values.rounds);
const blas = loadBlas();
await selectBackend('wasm', silentLogger, { blas: { enabled: false } });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Microseconds per call: enough calls for ~20 ms at 100 GFLOP/s, after a warm-up. */
function time(run: () => void, macs: number): number {
  const calls = Math.max(3, Math.round(1e9 / macs));
  for (let i = 0; i < 2; i++) run();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) run();
  return ((performance.now() - t0) * 1000) / calls;
}

const rows = SHAPES.map(([m, n, k, ta, tb, what]) => {
  const a = new Float32Array(m * k).fill(0.5);
  const b = new Float32Array(k * n).fill(0.25);
  const c = new Float32Array(m * n);
  const [pa, pb, pc] = [blas.address(a), blas.address(b), blas.address(c)];
  const gemm = () => blas.sgemm(ta, tb, m, n, k, pa, ta ? m : k, pb, tb ? k : n, pc, n);
  const ta2 = tf.tensor(a, ta ? [k, m] : [m, k]);
  const tb2 = tf.tensor(b, tb ? [n, k] : [k, n]);
  const builtin = () => tf.matMul(ta2, tb2, ta, tb).dispose();
  const macs = m * n * k;
  const one: number[] = [];
  const all: number[] = [];
  const wasm: number[] = [];
  for (let r = 0; r < rounds; r++) {
    blas.setThreads(1);
    one.push(time(gemm, macs));
    blas.setThreads(many);
    all.push(time(gemm, macs));
    wasm.push(time(builtin, macs));
  }
  tf.dispose([ta2, tb2]);
  const us = { one: median(one), all: median(all), wasm: median(wasm) };
  return { m, n, k, transposeA: ta, transposeB: tb, what, macs, us, gflops: { one: (2 * macs) / us.one / 1e3, all: (2 * macs) / us.all / 1e3, wasm: (2 * macs) / us.wasm / 1e3 } };
});
installBlas(silentLogger);

if (values.json) console.log(JSON.stringify({ threads: many, rounds, core: blas.coreName(), rows }, null, 2));
else {
  console.log(`OpenBLAS ${blas.coreName()} kernels; medians of ${rounds} interleaved rounds; the kernel uses 1 thread below ${SMALL_GEMM_MACS} MACs`);
  console.log(`| m×n×k | op | what | MACs | 1 thread µs (GFLOP/s) | ${many} threads µs (GFLOP/s) | built-in wasm µs (GFLOP/s) |`);
  console.log('|---|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    const cell = (us: number, g: number) => `${us.toFixed(1)} (${g.toFixed(1)})`;
    console.log(`| ${r.m}×${r.n}×${r.k} | ${r.transposeA ? 'Aᵀ' : 'A'}·${r.transposeB ? 'Bᵀ' : 'B'} | ${r.what} | ${(r.macs / 1e6).toFixed(2)}M | ${cell(r.us.one, r.gflops.one)} | ${cell(r.us.all, r.gflops.all)} | ${cell(r.us.wasm, r.gflops.wasm)} |`);
  }
}
