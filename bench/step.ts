/**
 * Benchmark: the tiny preset's train step on each backend — tokens/s and where the time goes
 * (prepare, pass 1, gather, loss, pass 2, all-reduce, optimizer), averaged over steps after a
 * warm-up, in one process (world size 1).
 *
 *   node dist/bench/step.js [--backends wasm,cpu] [--steps 10] [--json]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.js';
import type { BackendName } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { LocalComm } from '../src/train/comm.js';
import { TrainingSession } from '../src/train/session.js';
import type { StepTimings } from '../src/train/step.js';
import { benchData } from './tiny-case.js';

interface Row { backend: string; steps: number; tokensPerS: number; stepMs: number; split: StepTimings }

async function measure(backend: BackendName, train: string, steps: number): Promise<Row> {
  const config = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.train': train, backend }, env: {} });
  const session = await TrainingSession.create(config, { runDir: join(train, '..', 'bench-run'), log: silentLogger });
  const comm = new LocalComm();
  try {
    const next = async () => session.stepper.run([await session.encode(session.shards.next(config.train.global_batch, 1).perRank[0]!)], comm);
    await next(); // warm-up: kernels, caches
    const split: StepTimings = { prepare: 0, pass1: 0, gather: 0, loss: 0, pass2: 0, allReduce: 0, optimizer: 0 };
    let tokens = 0;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      const r = await next();
      tokens += r.tokens;
      for (const k of Object.keys(split) as (keyof StepTimings)[]) split[k] += r.timings[k] / steps;
    }
    const elapsed = performance.now() - t0;
    return { backend, steps, tokensPerS: (tokens * 1000) / elapsed, stepMs: elapsed / steps, split };
  } finally {
    await session.close();
  }
}

const { values } = parseArgs({ options: { backends: { type: 'string', default: 'wasm,cpu' }, steps: { type: 'string', default: '10' }, json: { type: 'boolean' } } });
const dir = benchData();
try {
  const rows: Row[] = [];
  for (const b of values.backends!.split(',')) rows.push(await measure(b as BackendName, join(dir, 'train'), b === 'cpu' ? Math.min(3, Number(values.steps)) : Number(values.steps)));
  if (values.json) console.log(JSON.stringify(rows, null, 2));
  else {
    const keys = Object.keys(rows[0]!.split) as (keyof StepTimings)[];
    console.log(`| backend | steps | tokens/s | step ms | ${keys.map((k) => `${k} ms`).join(' | ')} |`);
    console.log(`|---|---:|---:|---:|${keys.map(() => '---:').join('|')}|`);
    for (const r of rows) console.log(`| ${r.backend} | ${r.steps} | ${Math.round(r.tokensPerS)} | ${r.stepMs.toFixed(1)} | ${keys.map((k) => r.split[k].toFixed(1)).join(' | ')} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
