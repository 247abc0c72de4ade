/**
 * All-reduce over NATS against raw NATS throughput, in one run (not a test).
 *
 *   node dist/bench/allreduce.js [--sizes 1,4,16,64] [--workers 2,4] [--reps 5] [--warmup 2]
 *        [--wire float32|bf16] [--chunk-bytes 1048576] [--max-payload 1048576] [--raw-runs 3] [--raw-mib 256]
 *
 * Starts its own nats-server, measures raw publish→subscribe MB/s (separate publisher and
 * subscriber processes, payload = the chunk size), then for each worker count starts that many
 * worker processes, each with its own connection, and times `allReduceSum` of each size: every
 * rep starts with a barrier, and a rep's time is the slowest rank's. nccl-tests definitions:
 * algbw = S / t, busbw = algbw · 2(n−1)/n, with S the float32 size (MB = 1e6 bytes). Results
 * are checked exactly (inputs are small dyadic numbers whose sums are exact in bf16 too).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Collectives } from '../src/collectives/collectives.js';
import type { WireDtype } from '../src/protocol/messages.js';
import { startNatsServer } from '../src/transport/nats-server.js';
import { NatsTransport } from '../src/transport/nats-transport.js';
import { measureRawThroughput } from './nats-raw.js';

const MiB = 1024 * 1024;

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,4,16,64' },
    workers: { type: 'string', default: '2,4' },
    reps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    wire: { type: 'string', default: 'float32' },
    'chunk-bytes': { type: 'string', default: String(MiB) },
    'max-payload': { type: 'string' },
    'raw-runs': { type: 'string', default: '3' },
    'raw-mib': { type: 'string', default: '256' },
    'window-mib': { type: 'string' },
    role: { type: 'string' },
    url: { type: 'string' },
    rank: { type: 'string' },
    world: { type: 'string' },
  },
});
const list = (text: string) => text.split(',').map(Number);
const sizesMiB = list(flags.sizes);
const reps = Number(flags.reps);
const warmup = Number(flags.warmup);
const wire = flags.wire as WireDtype;
const chunkBytes = Number(flags['chunk-bytes']);

/** Rank r's input: small dyadic values, so every sum (and its bf16 rounding) is exact. */
function input(rank: number, length: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (((i % 64) - 32) / 64) * (rank + 1);
  return out;
}

async function worker(url: string, rank: number, world: number): Promise<void> {
  const transport = await NatsTransport.connect(url, { name: `bench-rank-${rank}` });
  let disconnects = 0;
  transport.onStatus((s) => s.type === 'disconnect' && disconnects++);
  const windowBytes = flags['window-mib'] ? Number(flags['window-mib']) * MiB : undefined;
  const c = new Collectives(transport, { job: 'bench', epoch: 1, rank, worldSize: world, chunkBytes, wireDtype: wire, timeoutMs: 120_000, ...(windowBytes ? { windowBytes } : {}) });
  await c.start();
  let step = 0;
  await c.barrier(step++, 'ready');
  const scale = (world * (world + 1)) / 2;
  for (const mib of sizesMiB) {
    const length = (mib * MiB) / 4;
    const data = input(rank, length);
    for (let rep = 0; rep < warmup + reps; rep++) {
      await c.barrier(step, 'go');
      const t0 = performance.now();
      const sum = await c.allReduceSum(step++, 'ar', data);
      const ms = performance.now() - t0;
      const ok = rep > 0 || sum.every((v, i) => v === (((i % 64) - 32) / 64) * scale);
      process.send?.({ mib, rep, ms, ok, waitMs: c.lastStats?.waitMs, computeMs: c.lastStats?.computeMs });
    }
  }
  await c.barrier(step, 'done');
  const { retransmitRequests, duplicates } = c.totals;
  process.send?.({ done: true, disconnects, retransmitRequests, duplicates });
  c.close();
  await transport.close();
}

interface Rep {
  mib: number;
  rep: number;
  ms: number;
  ok: boolean;
  waitMs: number;
  computeMs: number;
}

/** Runs `world` worker processes; resolves with the per-rank reports. */
async function runWorkers(url: string, world: number): Promise<{ reps: Rep[][]; done: Array<Record<string, number>> }> {
  const script = fileURLToPath(import.meta.url);
  const passOn = ['--sizes', flags.sizes, '--reps', flags.reps, '--warmup', flags.warmup, '--wire', wire, '--chunk-bytes', String(chunkBytes), ...(flags['window-mib'] ? ['--window-mib', flags['window-mib']] : [])];
  const children: ChildProcess[] = [];
  const reps: Rep[][] = [];
  const done: Array<Record<string, number>> = [];
  await Promise.all(
    Array.from({ length: world }, (_, rank) => {
      const child = fork(script, ['--role', 'worker', '--url', url, '--rank', String(rank), '--world', String(world), ...passOn]);
      children.push(child);
      reps[rank] = [];
      child.on('message', (m: Rep & { done?: boolean }) => (m.done ? (done[rank] = m as unknown as Record<string, number>) : reps[rank]!.push(m)));
      return new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${rank} exited with ${code}`)))));
    }),
  ).catch((err) => {
    for (const child of children) if (child.exitCode === null) child.kill();
    throw err;
  });
  return { reps, done };
}

const minMedian = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] as number, median: s[Math.floor(s.length / 2)] as number, max: s[s.length - 1] as number };
};
const f1 = (x: number) => x.toFixed(1);

async function main(): Promise<void> {
  const maxPayload = flags['max-payload'] ? Number(flags['max-payload']) : undefined;
  const server = await startNatsServer(maxPayload === undefined ? {} : { maxPayload });
  try {
    const payload = Math.min(chunkBytes, maxPayload ?? MiB);
    const raw: number[] = [];
    for (let i = 0; i < Number(flags['raw-runs']); i++) raw.push(await measureRawThroughput(server.url, payload, Number(flags['raw-mib']) * MiB));
    const rawStats = minMedian(raw);
    console.log(`nats-server max_payload ${maxPayload ?? MiB} B; wire ${wire}; chunk ${chunkBytes} B; ${warmup} warm-up + ${reps} reps`);
    console.log(`raw NATS pub→sub (${payload} B payloads, ${flags['raw-mib']} MiB, separate processes): min ${f1(rawStats.min)} / median ${f1(rawStats.median)} / max ${f1(rawStats.max)} MB/s over ${raw.length} runs`);
    console.log('| workers | size MiB | time ms (min / median) | algbw MB/s (best / median) | busbw MB/s (best / median) | busbw/raw (median/median) | local compute ms (median) |');
    console.log('|---|---|---|---|---|---|---|');
    for (const world of list(flags.workers)) {
      const { reps: perRank, done } = await runWorkers(server.url, world);
      for (const mib of sizesMiB) {
        const timed = Array.from({ length: reps }, (_, i) => Math.max(...perRank.map((r) => r.filter((x) => x.mib === mib)[warmup + i]!.ms)));
        const correct = perRank.every((r) => r.filter((x) => x.mib === mib).every((x) => x.ok));
        if (!correct) throw new Error(`wrong all-reduce result at ${mib} MiB with ${world} workers`);
        const t = minMedian(timed);
        const bytes = mib * MiB;
        const alg = (ms: number) => bytes / (ms / 1000) / 1e6;
        const factor = (2 * (world - 1)) / world;
        const compute = minMedian(perRank.flatMap((r) => r.filter((x) => x.mib === mib).slice(warmup).map((x) => x.computeMs)));
        console.log(`| ${world} | ${mib} | ${f1(t.min)} / ${f1(t.median)} | ${f1(alg(t.min))} / ${f1(alg(t.median))} | ${f1(alg(t.min) * factor)} / ${f1(alg(t.median) * factor)} | ${((alg(t.median) * factor) / rawStats.median).toFixed(2)} | ${f1(compute.median)} |`);
      }
      const sum = (key: string) => done.reduce((acc, d) => acc + (d[key] ?? 0), 0);
      console.log(`|   | ${world} workers: disconnects ${sum('disconnects')}, retransmit requests ${sum('retransmitRequests')}, duplicates ${sum('duplicates')} | | | | | |`);
    }
    const varz = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as { slow_consumers: number };
    console.log(`server slow consumers: ${varz.slow_consumers}`);
  } finally {
    await server.stop();
  }
}

if (flags.role === 'worker') await worker(flags.url as string, Number(flags.rank), Number(flags.world));
else await main();
