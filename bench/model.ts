/**
 * Benchmark: forward and forward+backward throughput of the model on each backend, beside
 * PyTorch on the same shapes when a Python with torch is found (bench/peer/decoder_layer.py).
 *
 *   node dist/bench/model.js [--backends wasm,cpu] [--cases tiny,layer-small,layer-0.5b]
 *        [--reps 5] [--peer /usr/bin/python3] [--peer-device cpu|cuda] [--scale 1] [--json]
 *        [--blas on|off|both] [--blas-threads N[,M...]] [--rounds 3]
 *        [--cuda-tf32] [--cuda-device N] [--cuda-driver device|host]
 * (`--backends cuda,webgpu` on a GPU machine; --cuda-tf32 lets cuBLAS use TF32 tensor cores;
 * --cuda-driver host runs the cuda backend's kernels on the CPU, to check the path without a GPU.)
 *
 * `--blas both` runs the wasm backend twice, with its matmuls in the native BLAS and in the
 * built-in kernel, in the same run as the peer. `--blas-threads` (0 = the trainer's default,
 * cores / local workers; a list runs each) applies to the layer cases
 * (the tiny case builds its session from the config, whose blas_threads is 0 = auto). The
 * peer runs every thread setting (bench/peer/run-peer.ts) and is reported at its best. Our
 * runs and the peer's alternate over `--rounds` rounds; each figure is the median over rounds
 * of the per-round median of `--reps` runs, and the peer's best setting per case is the one
 * with the fastest such median.
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
import { parseArgs } from 'node:util';
import { blasMatMulActive, blasStatus } from '../src/backend/blas/install.js';
import { cudaDevice } from '../src/backend/cuda/load.js';
import { selectBackend } from '../src/backend/select.js';
import { webgpuAdapter } from '../src/backend/webgpu.js';
import type { BackendName } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { runTinyCase } from './tiny-case.js';
import { layerCases, runLayer } from './layer-case.js';
import { findPython, peerSettings, runPeer } from './peer/run-peer.js';
import type { Timing } from './timing.js';

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** "wasm+BLAS (SkylakeX, 2 threads)" or "wasm" (built-in matmul). */
function wasmLabel(): string {
  if (!blasMatMulActive()) return 'wasm';
  const status = blasStatus();
  return `wasm+BLAS (${status.core?.split(' ')[0]}, ${status.threads} thread${status.threads === 1 ? '' : 's'})`;
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
      blas: { type: 'string', default: 'on' }, 'blas-threads': { type: 'string', default: '0' }, rounds: { type: 'string', default: '3' },
      'cuda-tf32': { type: 'boolean' }, 'cuda-device': { type: 'string', default: '0' }, 'cuda-driver': { type: 'string', default: 'device' },
    },
  });
  const reps = Number(values.reps);
  const rounds = Number(values.rounds);
  const wanted = values.cases!.split(',');
  const layers = Object.values(layerCases(Number(values.scale))).filter((c) => wanted.includes(c.name));
  const threadCounts = values['blas-threads']!.split(',').map(Number);
  const withBlas = threadCounts.map((threads) => ({ backend: 'wasm', blas: true, threads }));
  const runs = values.backends!.split(',').flatMap((backend) =>
    backend !== 'wasm' ? [{ backend, blas: false, threads: 0 }] : values.blas === 'both' ? [...withBlas, { backend, blas: false, threads: 0 }] : values.blas === 'off' ? [{ backend, blas: false, threads: 0 }] : withBlas);
  const blasLib = process.env.INSTRUCTUE_BLAS_LIB;
  const python = values['no-peer'] ? null : findPython(values.peer);
  if (!python && !values['no-peer']) console.error('peer: no Python with torch found (apt-get install -y python3-torch libopenblas0-pthread); PyTorch figures skipped');
  const device = values['peer-device']!;
  // Rounds interleave our runs and the peer's, so that load from other processes on a shared
  // machine falls on both sides; each figure is the median over rounds of per-round medians.
  const ours: Timing[] = [];
  const theirs: Timing[] = [];
  let peerOk = python !== null;
  for (let round = 0; round < rounds; round++) {
    for (const { backend, blas, threads } of runs) {
      const name = backend as BackendName;
      // Through the environment, so the tiny case's own session (which selects the backend from
      // its config) gets the same choice.
      if (blas) setEnv('INSTRUCTUE_BLAS_LIB', blasLib);
      else process.env.INSTRUCTUE_BLAS_LIB = 'none';
      const tf32 = Boolean(values['cuda-tf32']);
      await selectBackend(name, silentLogger, { blas: { threads }, cuda: { tf32, device: Number(values['cuda-device']), driver: values['cuda-driver'] === 'host' ? 'host' : 'device' } });
      const label = backend === 'webgpu' ? `webgpu (${webgpuAdapter()})` : backend === 'cuda' ? `cuda (${cudaDevice()?.name}, ${tf32 ? 'tf32' : 'fp32'})` : backend === 'wasm' ? wasmLabel() : backend;
      // The pure-JS cpu backend is ~50x slower than wasm: one rep keeps the run short.
      const r = backend === 'cpu' ? 1 : reps;
      const mine: Timing[] = [];
      if (wanted.includes('tiny')) mine.push(await runTinyCase(name, label, r));
      for (const c of layers) mine.push(await runLayer(c, label, r));
      ours.push(...mine);
      console.error(`round ${round + 1}: ${label}: ${mine.map((t) => `${t.name} fwd+bwd ${t.trainMs.toFixed(1)} ms`).join(', ')}`);
    }
    if (!peerOk || layers.length === 0) continue;
    // Every round runs every thread setting; the best per case is chosen on the medians.
    const peerRuns = runPeer(python!, device, layers, reps, peerSettings(device), (line) => console.error(`round ${round + 1}: ${line}`));
    if (!peerRuns) {
      peerOk = false;
      continue;
    }
    for (const run of peerRuns) theirs.push(...run.rows);
  }
  const peerRows = peerOk ? bestPerCase(medianOverRounds(theirs)) : [];
  const rows = [...medianOverRounds(ours), ...peerRows];
  if (values.json) {
    console.log(JSON.stringify({ rounds, reps, rows }, null, 2));
    return;
  }
  console.log(table(rows));
  for (const c of layers) {
    const peer = peerOk ? rows.find((r) => r.name === c.name && r.backend.startsWith('torch')) : undefined;
    for (const o of rows.filter((r) => r.name === c.name && !r.backend.startsWith('torch') && !r.backend.startsWith('cpu'))) {
      if (peer) console.log(`${c.name}: ${o.backend} fwd+bwd is ${(peer.trainMs / o.trainMs).toFixed(3)}× PyTorch's throughput (${peer.backend})`);
    }
  }
}

/** Per case, the peer setting with the fastest median fwd+bwd. */
function bestPerCase(rows: Timing[]): Timing[] {
  const best = new Map<string, Timing>();
  for (const r of rows) if (!best.has(r.name) || r.trainMs < best.get(r.name)!.trainMs) best.set(r.name, r);
  return [...best.values()];
}

/** One row per (backend, case): the median over rounds of forward and train times. */
function medianOverRounds(rows: Timing[]): Timing[] {
  const groups = new Map<string, Timing[]>();
  for (const r of rows) groups.set(`${r.backend}\u0000${r.name}`, [...(groups.get(`${r.backend}\u0000${r.name}`) ?? []), r]);
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return [...groups.values()].map((g) => ({ ...g[0]!, forwardMs: mid(g.map((r) => r.forwardMs)), trainMs: mid(g.map((r) => r.trainMs)) }));
}

await main();
