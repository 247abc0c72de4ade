/**
 * Test harness for a real Prometheus server (Debian's `prometheus` package): one process on a
 * free loopback port with its own temp config and TSDB folder, scraping one target every
 * second; queries over its HTTP API; stopped by PID (SIGTERM, SIGKILL after 5 s) and its folder
 * removed. Also finds `promtool` and `prometheus` on PATH, so suites can skip with a reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The path of `name` on PATH, or null. */
export function onPath(name: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : null;
}

/** Why a suite needing Prometheus's tools cannot run here (null: it can). */
export function prometheusToolsMissing(): string | null {
  const missing = ['promtool', 'prometheus'].filter((t) => onPath(t) === null);
  return missing.length === 0 ? null : `${missing.join(' and ')} not on PATH: install Debian's prometheus package (./scripts/setup.sh --with-test-tools does)`;
}

/** `promtool check metrics` on an exposition body: its exit status and what it printed. */
export function promtoolCheckMetrics(body: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

/** A loopback TCP port free at the time of asking. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One result of an instant query (`resultType: vector`). */
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface TestPrometheus {
  url: string;
  pid: number;
  /** Instant query at `time` (Unix seconds; default now); rejects on a PromQL or HTTP error. */
  query(expr: string, time?: number): Promise<VectorSample[]>;
  /** The server's view of its scrape targets (`/api/v1/targets`). */
  targets(): Promise<Array<{ health: string; lastError: string; scrapeUrl: string }>>;
  /** What the server printed (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `target` (`host:port`, path /metrics) every second; resolves once it is ready. */
export async function startPrometheus(target: string): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'instructue-test-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, [
    'global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', '  evaluation_interval: 1s',
    'scrape_configs:', '  - job_name: instructue', '    metrics_path: /metrics', '    static_configs:', `      - targets: ['${target}']`, '',
  ].join('\n'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn('prometheus', [
    `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode} before it was ready: ${log.slice(-2000)}`);
    }
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready on ${url} after 30 s: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  const api = async <T>(path: string, params: Record<string, string>): Promise<T> => {
    const res = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    url,
    pid: child.pid!,
    async query(expr, time) {
      const data = await api<{ resultType: string; result: VectorSample[] }>('/api/v1/query', { query: expr, ...(time === undefined ? {} : { time: String(time) }) });
      if (data.resultType !== 'vector') throw new Error(`${expr}: expected a vector, got ${data.resultType}`);
      return data.result;
    },
    async targets() {
      return (await api<{ activeTargets: Array<{ health: string; lastError: string; scrapeUrl: string }> }>('/api/v1/targets', {})).activeTargets;
    },
    output: () => log,
    stop,
  };
}
