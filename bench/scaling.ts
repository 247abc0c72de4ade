/**
 * Benchmark: the tiny preset trained by the local cluster (nats-server(s), coordinator, W worker
 * processes) for W = 1, 2, 4 — step time, tokens/s and the communication share of a step
 * (time rank 0 spent in the embedding all-gather and the gradient all-reduce), from the
 * committed metrics lines (median over steps after the first two).
 *
 *   node dist/bench/scaling.js [--workers 1,2,4] [--steps 12] [--servers 1] [--connections 1] [--json]
 * `--servers` = dist.nats_cluster_size (the launcher starts that many servers), `--connections`
 * = dist.collective_connections (0 = collectives on the workers' nats.js control connection).
 * On a 2-core machine 4 workers (+ nats-server + coordinator) oversubscribe the CPU: the
 * all-reduce then also waits for descheduled peers, which shows up as communication time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.js';
import { trainCluster } from '../src/launcher/local-cluster.js';
import { silentLogger } from '../src/log.js';
import { readJsonLines } from '../src/train/run-dir.js';
import { benchData } from './tiny-case.js';

interface Line { step: number; step_ms: number; tokens_per_s: number; gather_ms: number; allReduce_ms: number }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,4' }, steps: { type: 'string', default: '12' }, servers: { type: 'string', default: '1' },
    connections: { type: 'string', default: '1' }, json: { type: 'boolean' },
  },
});
const data = benchData();
const runs = mkdtempSync(join(tmpdir(), 'instructue-scaling-'));
try {
  const rows = [];
  for (const w of values.workers!.split(',').map(Number)) {
    const config = loadConfig({
      file: 'configs/tiny.json',
      overrides: {
        'data.train': join(data, 'train'), backend: 'wasm', 'train.steps': Number(values.steps), 'train.checkpoint_every': 0,
        'dist.nats_cluster_size': Number(values.servers), 'dist.collective_connections': Number(values.connections),
      },
      env: {},
    });
    const out = join(runs, `w${w}`);
    const outcome = await trainCluster({ config, out, workers: w, natsUrl: '', resume: false, allowConfigChange: false, log: silentLogger });
    const lines = readJsonLines<Line>(join(out, 'metrics.jsonl')).filter((l) => l.step > 2);
    const comm = lines.map((l) => (l.gather_ms + l.allReduce_ms) / l.step_ms);
    rows.push({ workers: w, state: outcome.state, stepMs: median(lines.map((l) => l.step_ms)), tokensPerS: median(lines.map((l) => l.tokens_per_s)), commShare: median(comm), allReduceMs: median(lines.map((l) => l.allReduce_ms)) });
  }
  if (values.json) console.log(JSON.stringify(rows, null, 2));
  else {
    console.log(`tiny preset, ${values.steps} steps; ${values.servers} nats-server(s); ${values.connections} collective connection(s) per worker`);
    console.log('| workers | step ms | tokens/s | all-reduce ms | communication share |');
    console.log('|---:|---:|---:|---:|---:|');
    for (const r of rows) console.log(`| ${r.workers} | ${r.stepMs.toFixed(0)} | ${Math.round(r.tokensPerS)} | ${r.allReduceMs.toFixed(1)} | ${(100 * r.commShare).toFixed(1)} % |`);
  }
} finally {
  rmSync(data, { recursive: true, force: true });
  rmSync(runs, { recursive: true, force: true });
}
