/**
 * All-reduce over NATS against raw NATS throughput and against gloo, in one run (a benchmark,
 * not a test).
 *
 *   node dist/bench/allreduce.js [--sizes 16,64] [--workers 2,4] [--servers 1,3] [--reps 5] [--warmup 2]
 *        [--connections auto|K] [--in-place true] [--wire float32|bf16] [--chunk-bytes 1048576] [--max-payload N]
 *        [--window-mib N] [--raw-runs 3] [--raw-mib 256] [--profile] [--no-gloo] [--json]
 *
 * For each server count it starts its own nats-server (or a local cluster: `startNatsCluster`),
 * measures raw publish→subscribe MB/s (separate publisher and subscriber processes, payload =
 * the frame size) with both clients — nats.js and the collectives' own `NatsWireTransport` —
 * then for each worker count starts that many worker processes (each with its control
 * connection and `--connections` data connections: `auto` = one per server, so every frame stays
 * on one server; 0 = the control connection, nats.js) and times `allReduceSum` of each size: every
 * rep starts with a barrier, and a rep's time is the slowest rank's. nccl-tests definitions:
 * algbw = S / t, busbw = algbw · 2(n−1)/n, with S the float32 size (MB = 1e6 bytes). Results are
 * checked exactly (inputs are small dyadic numbers whose sums are exact in bf16 too). busbw/raw
 * divides by the same run's median raw figure of each client. `--profile` adds where each
 * millisecond per MiB goes: the ranks' own phases (CallStats), the ranks' and the servers' CPU
 * time (process.cpuUsage, /proc). The gloo peer (`bench/peer/gloo_allreduce.py`) runs last.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Collectives } from '../src/collectives/collectives.js';
import { vectorAddKind } from '../src/collectives/vector-add.js';
import type { WireDtype } from '../src/protocol/messages.js';
import { startNatsCluster, type NatsClusterHandle } from '../src/transport/nats-server.js';
import { NatsTransport } from '../src/transport/nats-transport.js';
import { findTorchPython, runGloo } from './gloo-peer.js';
import { measureRawThroughput, type RawClient, type RawResult } from './nats-raw.js';
import { cpuBetween, procCpu } from './proc-cpu.js';

const MiB = 1024 * 1024;

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '16,64' },
    workers: { type: 'string', default: '2,4' },
    servers: { type: 'string', default: '1' },
    reps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: 'auto' },
    'in-place': { type: 'string', default: 'true' },
    wire: { type: 'string', default: 'float32' },
    'chunk-bytes': { type: 'string', default: String(MiB) },
    'max-payload': { type: 'string' },
    'raw-runs': { type: 'string', default: '3' },
    'raw-mib': { type: 'string', default: '256' },
    'window-mib': { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-gloo': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
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
/** Data connections per rank for a cluster of `servers` (`auto`: one per server). */
const connectionsFor = (servers: number) => (flags.connections === 'auto' ? servers : Number(flags.connections));
const inPlace = flags['in-place'] !== 'false';

/** Rank r's input: small dyadic values, so every sum (and its bf16 rounding) is exact. */
function input(rank: number, length: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (((i % 64) - 32) / 64) * (rank + 1);
  return out;
}

/** What a worker reports for one size (timed reps only). */
interface SizeReport {
  mib: number;
  ms: number[];
  ok: boolean;
  cpuMs: number;
  phases: { encodeMs: number; publishMs: number; reduceMs: number; copyMs: number; computeMs: number };
}

async function worker(url: string, rank: number, world: number, connections: number): Promise<void> {
  const transport = await NatsTransport.connect(url, { name: `bench-rank-${rank}` });
  let disconnects = 0;
  transport.onStatus((s) => s.type === 'disconnect' && disconnects++);
  const windowBytes = flags['window-mib'] ? Number(flags['window-mib']) * MiB : undefined;
  const c = new Collectives(transport, { job: 'bench', epoch: 1, rank, worldSize: world, chunkBytes, wireDtype: wire, timeoutMs: 120_000, connections, ...(windowBytes ? { windowBytes } : {}) });
  await c.start();
  let step = 0;
  await c.barrier(step++, 'ready');
  const scale = (world * (world + 1)) / 2;
  for (const mib of sizesMiB) {
    const length = (mib * MiB) / 4;
    const data = input(rank, length);
    const work = new Float32Array(length);
    const report: SizeReport = { mib, ms: [], ok: true, cpuMs: 0, phases: { encodeMs: 0, publishMs: 0, reduceMs: 0, copyMs: 0, computeMs: 0 } };
    let cpu0 = process.cpuUsage();
    for (let rep = 0; rep < warmup + reps; rep++) {
      if (inPlace) work.set(data);
      await c.barrier(step, 'go');
      if (rep === warmup) {
        if (rank === 0) process.send?.({ begin: mib });
        cpu0 = process.cpuUsage();
      }
      const t0 = performance.now();
      const sum = await c.allReduceSum(step++, 'ar', inPlace ? work : data, { inPlace });
      const ms = performance.now() - t0;
      if (rep === 0) report.ok = sum.every((v, i) => v === (((i % 64) - 32) / 64) * scale);
      if (rep < warmup) continue;
      report.ms.push(ms);
      const s = c.lastStats!;
      for (const k of ['encodeMs', 'publishMs', 'reduceMs', 'copyMs', 'computeMs'] as const) report.phases[k] += s[k];
    }
    const cpu = process.cpuUsage(cpu0);
    report.cpuMs = (cpu.user + cpu.system) / 1000;
    await c.barrier(step++, 'size-done');
    if (rank === 0) process.send?.({ end: mib });
    process.send?.({ report });
  }
  await c.barrier(step, 'done');
  const { retransmitRequests, duplicates } = c.totals;
  process.send?.({ done: { disconnects, retransmitRequests, duplicates } });
  await c.close();
  await transport.close();
}

interface WorkerRun {
  reports: SizeReport[][];
  done: Array<{ disconnects: number; retransmitRequests: number; duplicates: number }>;
  /** Servers' CPU ms during each size's timed reps. */
  serverCpuMs: Map<number, number | undefined>;
}

/** Runs `world` worker processes against `cluster`; resolves with their reports. */
async function runWorkers(cluster: NatsClusterHandle, world: number): Promise<WorkerRun> {
  const script = fileURLToPath(import.meta.url);
  const passOn = [
    '--sizes', flags.sizes, '--reps', flags.reps, '--warmup', flags.warmup, '--wire', wire, '--chunk-bytes', String(chunkBytes),
    '--connections', String(connectionsFor(cluster.urls.length)), '--in-place', String(inPlace), ...(flags['window-mib'] ? ['--window-mib', flags['window-mib']] : []),
  ];
  const children: ChildProcess[] = [];
  const run: WorkerRun = { reports: [], done: [], serverCpuMs: new Map() };
  const pids = () => cluster.servers.map((s) => s.pid);
  let before: ReturnType<typeof procCpu>[] = [];
  await Promise.all(
    Array.from({ length: world }, (_, rank) => {
      const child = fork(script, ['--role', 'worker', '--url', cluster.url, '--rank', String(rank), '--world', String(world), ...passOn]);
      children.push(child);
      run.reports[rank] = [];
      child.on('message', (m: { begin?: number; end?: number; report?: SizeReport; done?: WorkerRun['done'][number] }) => {
        if (m.begin !== undefined) before = pids().map(procCpu);
        if (m.end !== undefined) run.serverCpuMs.set(m.end, cpuBetween(before, pids().map(procCpu)));
        if (m.report) run.reports[rank]!.push(m.report);
        if (m.done) run.done[rank] = m.done;
      });
      return new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${rank} exited with ${code}`)))));
    }),
  ).catch((err) => {
    for (const child of children) if (child.exitCode === null) child.kill();
    throw err;
  });
  return run;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] as number, median: s[Math.floor(s.length / 2)] as number, max: s[s.length - 1] as number };
};
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

interface Row {
  servers: number;
  workers: number;
  mib: number;
  timeMs: { min: number; median: number };
  busbw: { best: number; median: number };
  ratio: Record<RawClient, number>;
  profile: Record<string, number | undefined>;
}

async function measureRaw(cluster: NatsClusterHandle, payload: number): Promise<Record<string, { results: RawResult[]; median: number; serverCpuPerMB: number | undefined }>> {
  const out: Record<string, { results: RawResult[]; median: number; serverCpuPerMB: number | undefined }> = {};
  const paths: Array<[string, string, string]> = [['same server', cluster.urls[0]!, cluster.urls[0]!]];
  if (cluster.urls.length > 1) paths.push(['across a route', cluster.urls[0]!, cluster.urls[1]!]);
  for (const client of ['natsjs', 'wire'] as const) {
    for (const [where, pubUrl, subUrl] of paths) {
      const results: RawResult[] = [];
      let serverMs = 0;
      let serverKnown = true;
      for (let i = 0; i < Number(flags['raw-runs']); i++) {
        const before = cluster.servers.map((s) => procCpu(s.pid));
        results.push(await measureRawThroughput(pubUrl, subUrl, payload, Number(flags['raw-mib']) * MiB, client));
        const ms = cpuBetween(before, cluster.servers.map((s) => procCpu(s.pid)));
        if (ms === undefined) serverKnown = false;
        else serverMs += ms;
      }
      const mb = results.reduce((a, r) => a + r.bytes, 0) / 1e6;
      out[`${client} ${where}`] = { results, median: stats(results.map((r) => r.mbps)).median, serverCpuPerMB: serverKnown ? serverMs / mb : undefined };
    }
  }
  return out;
}

function machine(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  let nats = '';
  try {
    nats = execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    nats = 'nats-server ?';
  }
  return `${cpus().length} × ${model}; node ${process.version}; ${nats}; load average ${loadavg().map(f2).join(' ')}`;
}

async function main(): Promise<void> {
  const maxPayload = flags['max-payload'] ? Number(flags['max-payload']) : undefined;
  const payload = Math.min(chunkBytes, maxPayload ?? MiB);
  const rows: Row[] = [];
  const log = (line: string) => !flags.json && console.log(line);
  log(`${new Date().toISOString()}; ${machine()}`);
  const k = flags.connections === 'auto' ? 'one per server' : flags.connections;
  log(`wire ${wire}; frames ${payload} B (chunk ${chunkBytes} B, server max_payload ${maxPayload ?? MiB} B); data connections per rank: ${k}${flags.connections === '0' ? ' (the nats.js control connection)' : ' (NatsWireTransport)'}; ${inPlace ? 'in place' : 'new result array'}; fold ${vectorAddKind() === 'blas' ? 'cblas_saxpy' : 'JS loop'}; ${warmup} warm-up + ${reps} reps`);
  const rawBy = new Map<number, Awaited<ReturnType<typeof measureRaw>>>();
  for (const servers of list(flags.servers)) {
    const cluster = await startNatsCluster({ size: servers, ...(maxPayload === undefined ? {} : { maxPayload }) });
    try {
      const raw = await measureRaw(cluster, payload);
      rawBy.set(servers, raw);
      log(`\n### ${servers} nats-server${servers > 1 ? 's (cluster)' : ''}, ${connectionsFor(servers)} data connection(s) per rank\n`);
      log(`raw NATS pub→sub, ${payload} B payloads, ${flags['raw-mib']} MiB × ${flags['raw-runs']} runs (separate processes):`);
      for (const [name, r] of Object.entries(raw)) {
        const s = stats(r.results.map((x) => x.mbps));
        const mb = r.results.reduce((a, x) => a + x.bytes, 0) / 1e6;
        const pub = r.results.reduce((a, x) => a + x.pub.user + x.pub.system, 0) / mb;
        const sub = r.results.reduce((a, x) => a + x.sub.user + x.sub.system, 0) / mb;
        log(`- ${name}: min ${f1(s.min)} / median ${f1(s.median)} / max ${f1(s.max)} MB/s; CPU ms per MB: publisher ${f2(pub)}, subscriber ${f2(sub)}, server(s) ${r.serverCpuPerMB === undefined ? '?' : f2(r.serverCpuPerMB)}`);
      }
      const rawNats = raw['natsjs same server']!.median;
      const rawWire = raw['wire same server']!.median;
      log('');
      log('| workers | size MiB | time ms (min / median) | busbw MB/s (best / median) | busbw/raw nats.js | busbw/raw wire | local compute ms (median rank) |');
      log('|---|---|---|---|---|---|---|');
      const profiles: string[] = [];
      for (const world of list(flags.workers)) {
        const run = await runWorkers(cluster, world);
        for (const mib of sizesMiB) {
          const per = run.reports.map((r) => r.find((x) => x.mib === mib)!);
          if (!per.every((x) => x.ok)) throw new Error(`wrong all-reduce result at ${mib} MiB with ${world} workers`);
          const timed = Array.from({ length: reps }, (_, i) => Math.max(...per.map((x) => x.ms[i]!)));
          const t = stats(timed);
          const alg = (ms: number) => (mib * MiB) / (ms / 1000) / 1e6;
          const factor = (2 * (world - 1)) / world;
          const busbw = { best: alg(t.min) * factor, median: alg(t.median) * factor };
          const compute = stats(per.map((x) => x.phases.computeMs / reps)).median;
          log(`| ${world} | ${mib} | ${f1(t.min)} / ${f1(t.median)} | ${f1(busbw.best)} / ${f1(busbw.median)} | ${f2(busbw.median / rawNats)} | ${f2(busbw.median / rawWire)} | ${f1(compute)} |`);
          // Per MiB of the vector, per rank (mean over ranks), over the timed reps.
          const perMiB = (v: number) => v / (mib * reps);
          const mean = (f: (x: SizeReport) => number) => perMiB(per.reduce((a, x) => a + f(x), 0) / world);
          const server = run.serverCpuMs.get(mib);
          const profile = {
            wall: perMiB(timed.reduce((a, b) => a + b, 0)), encode: mean((x) => x.phases.encodeMs), publish: mean((x) => x.phases.publishMs),
            reduce: mean((x) => x.phases.reduceMs), copy: mean((x) => x.phases.copyMs), rankCpu: mean((x) => x.cpuMs),
            server: server === undefined ? undefined : perMiB(server),
          };
          rows.push({ servers, workers: world, mib, timeMs: { min: t.min, median: t.median }, busbw, ratio: { natsjs: busbw.median / rawNats, wire: busbw.median / rawWire }, profile });
          const rest = profile.rankCpu - profile.encode - profile.publish - profile.reduce - profile.copy;
          profiles.push(`| ${world} | ${mib} | ${f2(profile.wall)} | ${f2(profile.encode)} | ${f2(profile.publish)} | ${f2(profile.reduce)} | ${f2(profile.copy)} | ${f2(rest)} | ${f2(profile.rankCpu)} | ${profile.server === undefined ? '?' : f2(profile.server)} |`);
        }
        const sum = (key: 'disconnects' | 'retransmitRequests' | 'duplicates') => run.done.reduce((acc, d) => acc + (d?.[key] ?? 0), 0);
        log(`|   | ${world} workers: disconnects ${sum('disconnects')}, retransmit requests ${sum('retransmitRequests')}, duplicates ${sum('duplicates')} | | | | | |`);
      }
      const slow = await Promise.all(cluster.servers.map(async (s) => ((await (await fetch(`${s.monitorUrl}/varz`)).json()) as { slow_consumers: number }).slow_consumers));
      log(`server slow consumers: ${slow.join(', ')}`);
      if (flags.profile) {
        log('\nWhere the time goes, ms per MiB of the vector, per rank (mean over ranks; timed reps only):');
        log('wall = the call; encode/publish/reduce (decode + sum)/copy (results into place) = inside the rank\'s JS; other = the rest of the rank\'s CPU (socket reads and writes in the kernel, parsing, event loop, GC); rank CPU = user + system; servers = all nats-server CPU.\n');
        log('| workers | size MiB | wall | encode | publish | reduce | copy | other | rank CPU | servers CPU |');
        log('|---|---|---|---|---|---|---|---|---|---|');
        for (const p of profiles) log(p);
      }
    } finally {
      await cluster.stop();
    }
  }
  const python = flags['no-gloo'] ? null : findTorchPython();
  const gloo: Array<{ workers: number; mib: number; busbw: number; timeMs: number }> = [];
  if (python) {
    for (const world of list(flags.workers)) {
      for (const g of await runGloo(python, world, sizesMiB, reps, warmup)) {
        const t = stats(g.timesMs).median;
        gloo.push({ workers: world, mib: g.mib, timeMs: t, busbw: ((g.mib * MiB) / (t / 1000) / 1e6) * ((2 * (world - 1)) / world) });
      }
    }
    log('\n### gloo (torch.distributed, TCP on loopback), same sizes\n');
    log('| workers | size MiB | time ms (median) | busbw MB/s (median) | ours/gloo (per server count) |');
    log('|---|---|---|---|---|');
    for (const g of gloo) {
      const ours = rows.filter((r) => r.workers === g.workers && r.mib === g.mib).map((r) => `${r.servers} server(s): ${f2(r.busbw.median / g.busbw)}`);
      log(`| ${g.workers} | ${g.mib} | ${f1(g.timeMs)} | ${f1(g.busbw)} | ${ours.join('; ')} |`);
    }
  } else if (!flags['no-gloo']) {
    log('\ngloo peer skipped: no Python with torch (apt-get install -y python3-torch)');
  }
  log(`\nend: load average ${loadavg().map(f2).join(' ')}`);
  if (flags.json) console.log(JSON.stringify({ machine: machine(), rows, raw: Object.fromEntries(rawBy), gloo }, null, 2));
}

if (flags.role === 'worker') await worker(flags.url as string, Number(flags.rank), Number(flags.world), Number(flags.connections));
else await main();
