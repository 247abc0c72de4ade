/**
 * Benchmark: forward and forward+backward throughput of the model on each backend, beside
 * PyTorch on the same shapes when a Python with torch is found (bench/peer/decoder_layer.py).
 *
 *   node dist/bench/model.js [--backends wasm,cpu] [--cases tiny,layer-small,layer-0.5b]
 *        [--reps 5] [--peer /usr/bin/python3] [--peer-device cpu|cuda] [--scale 1] [--json]
 *        [--cuda-tf32] [--cuda-device N] [--cuda-driver device|host]
 * (`--backends cuda,webgpu` on a GPU machine; --cuda-tf32 lets cuBLAS use TF32 tensor cores;
 * --cuda-driver host runs the cuda backend's kernels on the CPU, to check the path without a GPU.)
 *
 * Cases:
 *   tiny         the tiny preset (configs/tiny.json) on synthetic users: one full train step
 *                (two passes + AdamW) and the embedding forward; tokens = real decoder positions
 *   layer-small  one causal Qwen2 layer, d 128, 4 heads, MLP 512, batch 8 × seq 128
 *   layer-0.5b   one Qwen2.5-0.5B-shaped layer: d 896, 14 heads / 2 KV heads, MLP 4864,
 *                batch 1 × seq 128 (× --scale for bigger machines)
 * Layers have frozen base weights and LoRA r=8 on every projection; "train" is forward +
 * backward of mean(h²) with respect to the LoRA weights (what the peer script does too).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend/select.js';
import { tf } from '../src/backend/tf.js';
import { cudaDevice } from '../src/backend/cuda/load.js';
import { webgpuAdapter } from '../src/backend/webgpu.js';
import type { BackendName } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { buildQwen2, LORA_TARGETS } from '../src/model/build-backbones.js';
import { ParameterStore } from '../src/model/parameters.js';
import { WeightReader } from '../src/model/weight-source.js';
import { Rng } from '../src/util/rng.js';
import { runTinyCase } from './tiny-case.js';
import { median, type Timing } from './timing.js';

interface LayerCase {
  name: string;
  hidden: number;
  heads: number;
  kv_heads: number;
  mlp: number;
  batch: number;
  seq: number;
}

function layerCases(scale: number): Record<string, LayerCase> {
  return {
    'layer-small': { name: 'layer-small', hidden: 128, heads: 4, kv_heads: 4, mlp: 512, batch: 8, seq: 128 },
    'layer-0.5b': { name: 'layer-0.5b', hidden: 896, heads: 14, kv_heads: 2, mlp: 4864, batch: scale, seq: 128 },
  };
}

async function runLayer(c: LayerCase, backend: string, reps: number): Promise<Timing> {
  const store = new ParameterStore();
  const decoder = buildQwen2(
    { hidden: c.hidden, layers: 1, heads: c.heads, kvHeads: c.kv_heads, headSize: c.hidden / c.heads, intermediate: c.mlp, vocab: 64, ropeTheta: 1e6, rmsEps: 1e-6, maxPositions: c.seq },
    new WeightReader({ kind: 'random', seed: 'bench', std: 0.02 }, store),
    LORA_TARGETS,
    { r: 8, alpha: 16, useRslora: false, dropout: 0, seed: 'bench' },
  );
  const x = tf.tensor3d(new Rng('bench-x').normalArray(c.batch * c.seq * c.hidden, 1), [c.batch, c.seq, c.hidden]);
  const mask = new Int32Array(c.batch * c.seq).fill(1);
  // Reads are asynchronous: the webgpu backend cannot read synchronously in Node (no OffscreenCanvas).
  const forwardMs = await median(async () => {
    const y = tf.tidy(() => decoder.forward(x, mask));
    await y.data();
    y.dispose();
  }, reps);
  const trainMs = await median(async () => {
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(decoder.forward(x, mask))) as tf.Scalar, store.trainableVariables());
    await Promise.all(Object.values(grads).map((g) => g.data()));
    tf.dispose([value, ...Object.values(grads)]);
  }, reps);
  tf.dispose(x);
  decoder.disposeCaches();
  store.dispose();
  return { backend, name: c.name, forwardTokens: c.batch * c.seq, trainTokens: c.batch * c.seq, forwardMs, trainMs };
}

/** Runs the PyTorch peer on the layer cases; null when no Python with torch is found. */
function runPeer(python: string, device: string, cases: LayerCase[], reps: number): Timing[] | null {
  if (cases.length === 0) return null;
  // Relative to the repository root (benchmarks run from there; bundled copies too).
  const script = 'bench/peer/decoder_layer.py';
  const spec = JSON.stringify({ cases, device, reps, warmup: 1, threads: 1 });
  const env = { ...process.env, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? '2', MALLOC_MMAP_THRESHOLD_: '4294967296', MALLOC_TRIM_THRESHOLD_: '4294967296' };
  const run = spawnSync(python, [script, spec], { encoding: 'utf8', env, timeout: 20 * 60_000 });
  if (run.status !== 0) {
    console.error(`peer: ${python} failed (${run.stderr.trim().split('\n').pop() ?? run.status}); skipping PyTorch figures`);
    return null;
  }
  const [header, ...rows] = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return rows.map((r) => ({ backend: `torch ${header!.torch} ${header!.device} ${header!.dtype}`, name: String(r.name), forwardTokens: Number(r.tokens), trainTokens: Number(r.tokens), forwardMs: Number(r.forward_ms), trainMs: Number(r.train_ms) }));
}

function findPython(explicit: string | undefined): string | null {
  const candidates = explicit ? [explicit] : ['/usr/bin/python3', 'python3'];
  for (const py of candidates) {
    if (py.startsWith('/') && !existsSync(py)) continue;
    if (spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return py;
  }
  return null;
}

function table(rows: Timing[]): string {
  const head = '| backend | case | forward ms | forward tok/s | fwd+bwd ms | fwd+bwd tok/s |';
  const sep = '|---|---|---:|---:|---:|---:|';
  const body = rows.map((r) => `| ${r.backend} | ${r.name} | ${r.forwardMs.toFixed(1)} | ${Math.round((r.forwardTokens * 1000) / r.forwardMs)} | ${r.trainMs.toFixed(1)} | ${Math.round((r.trainTokens * 1000) / r.trainMs)} |`);
  return [head, sep, ...body].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string', default: 'wasm,cpu' }, cases: { type: 'string', default: 'tiny,layer-small,layer-0.5b' },
      reps: { type: 'string', default: '5' }, peer: { type: 'string' }, 'peer-device': { type: 'string', default: 'cpu' },
      scale: { type: 'string', default: '1' }, json: { type: 'boolean' }, 'no-peer': { type: 'boolean' },
      'cuda-tf32': { type: 'boolean' }, 'cuda-device': { type: 'string', default: '0' }, 'cuda-driver': { type: 'string', default: 'device' },
    },
  });
  const reps = Number(values.reps);
  const wanted = values.cases!.split(',');
  const layers = Object.values(layerCases(Number(values.scale))).filter((c) => wanted.includes(c.name));
  const rows: Timing[] = [];
  for (const backend of values.backends!.split(',')) {
    const name = backend as BackendName;
    const tf32 = Boolean(values['cuda-tf32']);
    await selectBackend(name, silentLogger, { cuda: { tf32, device: Number(values['cuda-device']), driver: values['cuda-driver'] === 'host' ? 'host' : 'device' } });
    const label = backend === 'webgpu' ? `webgpu (${webgpuAdapter()})` : backend === 'cuda' ? `cuda (${cudaDevice()?.name}, ${tf32 ? 'tf32' : 'fp32'})` : backend;
    // The pure-JS cpu backend is ~50x slower than wasm: one rep keeps the run short.
    const r = backend === 'cpu' ? 1 : reps;
    if (wanted.includes('tiny')) rows.push(await runTinyCase(name, label, r));
    for (const c of layers) rows.push(await runLayer(c, label, r));
    if (!values.json) console.error(`done: ${label}`);
  }
  const python = values['no-peer'] ? null : findPython(values.peer);
  const peer = python ? runPeer(python, values['peer-device']!, layers, reps) : null;
  if (!python && !values['no-peer']) console.error('peer: no Python with torch found (apt-get install -y python3-torch libopenblas0-pthread); PyTorch figures skipped');
  rows.push(...(peer ?? []));
  if (values.json) {
    console.log(JSON.stringify({ rows }, null, 2));
    return;
  }
  console.log(table(rows));
  for (const c of layers) {
    const theirs = peer?.find((r) => r.name === c.name);
    for (const ours of rows.filter((r) => r.name === c.name && !r.backend.startsWith('torch') && !r.backend.startsWith('cpu'))) {
      if (theirs) console.log(`${c.name}: ${ours.backend} fwd+bwd is ${(theirs.trainMs / ours.trainMs).toFixed(3)}× PyTorch's throughput (${theirs.backend})`);
    }
  }
}

await main();
