/**
 * A long fault soak (not part of the tests): a 3-worker `instructue train --workers 3` on its own
 * nats-server, with a random fault every 20–60 s — kill -9 of a worker, SIGSTOP of a worker or of
 * nats-server (for 1–2× the worker timeout), a nats-server restart, a scale up or down — for
 * `--minutes`; then a checkpointed stop. It checks that consumed.jsonl has every committed step
 * once and every sample once per data epoch, and that the weights equal an undisturbed
 * single-process run of the same config stopped at the same step. Prints the fault counts.
 *
 *   npm run build && node dist/scripts/soak.js [--minutes 30] [--seed 5] [--json]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.js';
import { writeSynth } from '../src/data/synth/write.js';
import { silentLogger } from '../src/log.js';
import { startNatsServer } from '../src/transport/nats-server.js';
import { trainLocal } from '../src/train/local-trainer.js';
import { readJsonLines } from '../src/train/run-dir.js';
import { checkpointWeights, exactlyOnce, weightDiff } from './run-checks.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '30' }, seed: { type: 'string', default: '5' }, json: { type: 'boolean' } } });
const minutes = Number(values.minutes);
const rng = mulberry(Number(values.seed));
const bin = join(process.cwd(), 'bin', 'instructue.js');
const root = mkdtempSync(join(tmpdir(), 'instructue-soak-'));
const data = join(root, 'data');
writeSynth({ out: data, users: 60, evalUsers: 5, shards: 2, gzip: false, seed: 9, difficulty: 0.5, pairsPerUser: 3, maxEvents: 8 });
const run = join(root, 'run');
const port = 20000 + Math.floor(rng() * 20000);
const TIMEOUT_MS = 4000;
const sets = {
  'data.train': join(data, 'train'), 'train.steps': 100000, 'train.checkpoint_every': 5, 'dist.collective_timeout_ms': 8000, 'dist.heartbeat_ms': 400,
  'dist.worker_timeout_ms': TIMEOUT_MS, 'dist.max_restarts': 100000, 'control.http_port': port, backend: 'wasm',
};
const setArgs = Object.entries(sets).flatMap(([k, v]) => ['--set', `${k}=${v}`]);

const nats = await startNatsServer({ jetstream: true, log: silentLogger });
const launcher = spawn(process.execPath, [bin, 'train', '--workers', '3', '--nats', nats.url, '--config', 'configs/tiny.json', '--out', run, '--json', ...setArgs], {
  stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, INSTRUCTUE_LOG_LEVEL: 'info' },
});
const workerPids = new Map<string, number>();
let stderrTail = '';
launcher.stderr!.on('data', (chunk: Buffer) => {
  stderrTail = (stderrTail + chunk.toString()).slice(-4000);
  for (const line of chunk.toString().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const m = JSON.parse(line) as { msg: string; worker?: string; pid?: number };
      if (m.msg === 'worker started' && m.worker && m.pid) workerPids.set(m.worker, m.pid);
      if (m.msg === 'worker exited' && m.worker) workerPids.delete(m.worker);
    } catch {
      // a partial line
    }
  }
});
const control = `http://127.0.0.1:${port}`;
const counts: Record<string, number> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const committed = () => readJsonLines<{ step: number }>(join(run, 'metrics.jsonl')).reduce((m, l) => Math.max(m, l.step), 0);
const post = (body: object) => fetch(`${control}/api/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
let target = 3;

const faults: Array<[string, () => Promise<void>]> = [
  ['kill -9 worker', async () => void signalRandomWorker('SIGKILL')],
  ['SIGSTOP worker', async () => {
    const pid = signalRandomWorker('SIGSTOP');
    await sleep(TIMEOUT_MS * (1 + rng()));
    if (pid) safeKill(pid, 'SIGCONT');
  }],
  ['SIGSTOP nats-server', async () => {
    safeKill(nats.pid, 'SIGSTOP');
    await sleep(TIMEOUT_MS * (1 + rng()));
    safeKill(nats.pid, 'SIGCONT');
  }],
  ['nats-server restart', async () => nats.restart()],
  ['scale', async () => {
    target = target === 3 ? 2 : 3;
    await post({ type: 'scale', workers: target }).catch(() => undefined);
  }],
];

function signalRandomWorker(signal: NodeJS.Signals): number | undefined {
  const pids = [...workerPids.values()];
  if (pids.length === 0) return undefined;
  const pid = pids[Math.floor(rng() * pids.length)]!;
  safeKill(pid, signal);
  return pid;
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

const started = Date.now();
while (Date.now() - started < minutes * 60_000 && launcher.exitCode === null) {
  await sleep(20_000 + rng() * 40_000);
  const [name, inject] = faults[Math.floor(rng() * faults.length)]!;
  counts[name] = (counts[name] ?? 0) + 1;
  process.stderr.write(`soak: ${Math.round((Date.now() - started) / 1000)} s, committed step ${committed()}: ${name}\n`);
  await inject();
}
// A quiet spell, so the stop usually lands on a running epoch (a stop during a recovery ends the
// job at its last committed checkpoint instead, which is checked the same way below).
await sleep(3 * TIMEOUT_MS);
process.stderr.write('soak: stopping the job\n');
await post({ type: 'stop' }).catch(() => undefined);
const code = await new Promise<number | null>((resolve) => (launcher.exitCode !== null ? resolve(launcher.exitCode) : launcher.once('exit', resolve)));
await nats.stop();
// Compare at the newest checkpoint: a stop that met a recovery ends at the last committed one.
const finalStep = Math.max(...readdirSync(join(run, 'checkpoints')).filter((n) => n.startsWith('step-')).map((n) => Number(n.slice(5))));

// The reference: one process, same config, stopped at the same step.
const config = loadConfig({ file: 'configs/tiny.json', overrides: { ...sets, 'control.http_port': 0 }, env: {} });
const reference = join(root, 'reference');
let steps = 0;
await trainLocal({ config, out: reference, resume: false, allowConfigChange: false, log: silentLogger, onStep: (d) => (steps = d.result.step), shouldStop: () => steps >= finalStep });
const samples = readdirSync(join(data, 'train')).filter((f) => f.endsWith('.jsonl')).reduce((n, f) => n + readFileSync(join(data, 'train', f), 'utf8').split('\n').filter((l) => l.trim()).length, 0);
const once = exactlyOnce(run, samples);
const weights = weightDiff(checkpointWeights(run, finalStep), checkpointWeights(reference, finalStep));
const report = { minutes, launcherExit: code, committedSteps: committed(), comparedAtStep: finalStep, faults: counts, exactlyOnce: { ...once, ranks: [...once.ranks] }, weights, run, ok: code === 0 && once.ok && weights.relative <= 1e-5 };
if (values.json) console.log(JSON.stringify(report, null, 2));
else console.log(`soak ${report.ok ? 'PASSED' : 'FAILED'}: ${report.committedSteps} steps committed in ${minutes} min (weights compared at checkpoint ${finalStep}), faults ${JSON.stringify(counts)}; exactly-once ${once.ok ? 'held' : `broke (${once.problem})`} over ${once.epochs} data epochs; weights vs one process: relative L2 ${weights.relative.toExponential(2)}, max abs ${weights.maxAbs.toExponential(2)}`);
if (!report.ok && code !== 0) process.stderr.write(stderrTail);
process.exit(report.ok ? 0 : 1);

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
