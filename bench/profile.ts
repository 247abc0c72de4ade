/**
 * Profile (not a benchmark of record): where the kernel time of one run goes, per tfjs kernel
 * and phase (forward / backward), on the wasm or cpu backend. Every kernel of the backend is
 * wrapped with a timer; wasm and cpu kernels run synchronously, so the wall time of a kernel
 * call is its cost. "other" is the time outside kernels (tfjs bookkeeping, our JS, reads).
 *
 *   node dist/bench/profile.js [--case tiny|layer-small|layer-0.5b] [--backend wasm|cpu]
 *        [--blas on|off] [--grad-transposes auto|explicit|flags] [--reps 3] [--top 25] [--json]
 *
 * It reports the per-run mean over `reps` runs after one warm-up run.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rmSync } from 'node:fs';
import { blasStatus } from '../src/backend/blas/install.js';
import { setGradientTransposes } from '../src/backend/kernels.js';
import { selectBackend } from '../src/backend/select.js';
import { tf } from '../src/backend/tf.js';
import { loadConfig } from '../src/config/load.js';
import type { BackendName } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { LocalComm } from '../src/train/comm.js';
import { TrainingSession } from '../src/train/session.js';
import { buildLayer, layerCases } from './layer-case.js';
import { benchData } from './tiny-case.js';

interface Entry { kernel: string; phase: 'fwd' | 'bwd'; calls: number; ms: number }

const entries = new Map<string, Entry>();
let recording = false;

/** Wraps every kernel of `backend` with a timer (after the BLAS kernel is in place). */
function instrument(backend: string): void {
  for (const config of tf.getKernelsForBackend(backend)) {
    const inner = config.kernelFunc;
    tf.unregisterKernel(config.kernelName, backend);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        if (!recording) return inner(args);
        const t0 = performance.now();
        const out = inner(args);
        const ms = performance.now() - t0;
        // tfjs runs gradient functions inside a scope named "backward".
        const phase = tf.engine().state.scopeStack.some((s) => s.name === 'backward') ? 'bwd' : 'fwd';
        const key = `${config.kernelName}/${phase}`;
        const e = entries.get(key) ?? { kernel: config.kernelName, phase, calls: 0, ms: 0 };
        e.calls++;
        e.ms += ms;
        entries.set(key, e);
        return out;
      },
    });
  }
}

async function profiled(run: () => Promise<void>, reps: number): Promise<number> {
  await run();
  recording = true;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await run();
  recording = false;
  return (performance.now() - t0) / reps;
}

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'tiny' }, backend: { type: 'string', default: 'wasm' }, blas: { type: 'string', default: 'on' },
    reps: { type: 'string', default: '3' }, top: { type: 'string', default: '25' }, json: { type: 'boolean' },
    'grad-transposes': { type: 'string', default: 'auto' },
  },
});
const reps = Number(values.reps);
const backend = values.backend as BackendName;
if (values.blas === 'off') process.env.INSTRUCTUE_BLAS_LIB = 'none';
setGradientTransposes(values['grad-transposes'] as 'auto' | 'explicit' | 'flags');
let runMs: number;
let label: string;
if (values.case === 'tiny') {
  const dir = benchData();
  const config = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.train': join(dir, 'train'), backend }, env: {} });
  const session = await TrainingSession.create(config, { runDir: join(dir, 'bench-run'), log: silentLogger });
  instrument(backend);
  const samples = await session.encode(session.shards.next(config.train.global_batch, 1).perRank[0]!);
  const comm = new LocalComm();
  runMs = await profiled(async () => void (await session.stepper.run([samples], comm)), reps);
  label = 'tiny train step';
  await session.close();
  rmSync(dir, { recursive: true, force: true });
} else {
  const c = layerCases(1)[values.case!];
  if (!c) throw new Error(`--case ${values.case}: expected tiny, ${Object.keys(layerCases(1)).join(', ')}`);
  await selectBackend(backend, silentLogger);
  instrument(backend);
  const layer = buildLayer(c);
  runMs = await profiled(layer.train, reps);
  label = `${c.name} fwd+bwd`;
  layer.dispose();
}
const rows = [...entries.values()].map((e) => ({ ...e, calls: e.calls / reps, ms: e.ms / reps })).sort((a, b) => b.ms - a.ms);
const kernelMs = rows.reduce((s, r) => s + r.ms, 0);
const blas = blasStatus();
const head = `${label} on ${backend}${backend === 'wasm' ? (blas.active ? ` + BLAS (${blas.core}, ${blas.threads} threads)` : ' (built-in matmul)') : ''}, gradient transposes ${values['grad-transposes']}: ${runMs.toFixed(1)} ms per run, kernels ${kernelMs.toFixed(1)} ms, other ${(runMs - kernelMs).toFixed(1)} ms`;
if (values.json) {
  console.log(JSON.stringify({ label: head, runMs, kernelMs, rows }, null, 2));
} else {
  console.log(head);
  console.log('| kernel | phase | calls | ms | share of run |');
  console.log('|---|---|---:|---:|---:|');
  for (const r of rows.slice(0, Number(values.top))) console.log(`| ${r.kernel} | ${r.phase} | ${r.calls} | ${r.ms.toFixed(2)} | ${((100 * r.ms) / runMs).toFixed(1)}% |`);
}
