/**
 * The gloo peer of `bench/allreduce.ts`: torch.distributed all_reduce over gloo/TCP on this
 * machine (`bench/peer/gloo_allreduce.py`, Debian python3-torch for /usr/bin/python3), timed the
 * same way (slowest rank of each rep, after a barrier).
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

export interface GlooTiming {
  world: number;
  mib: number;
  timesMs: number[];
}

/** A Python with torch, or null. */
export function findTorchPython(explicit?: string): string | null {
  for (const py of explicit ? [explicit] : ['/usr/bin/python3', 'python3']) {
    if (py.startsWith('/') && !existsSync(py)) continue;
    if (spawnSync(py, ['-c', 'import torch.distributed as d; assert d.is_gloo_available()'], { encoding: 'utf8' }).status === 0) return py;
  }
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Runs the peer for `world` processes; throws with its stderr when it fails or a sum is wrong. */
export async function runGloo(python: string, world: number, sizesMiB: number[], reps: number, warmup: number): Promise<GlooTiming[]> {
  const spec = JSON.stringify({ world, sizes_mib: sizesMiB, reps, warmup, port: await freePort() });
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
  const run = spawnSync(python, ['bench/peer/gloo_allreduce.py', spec], { encoding: 'utf8', env, timeout: 20 * 60_000 });
  if (run.status !== 0) throw new Error(`gloo peer failed (${run.status}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const rows = run.stdout.trim().split('\n').slice(1).map((l) => JSON.parse(l) as { world: number; mib: number; times_ms: number[]; ok: boolean });
  for (const r of rows) if (!r.ok) throw new Error(`gloo peer: wrong sum at ${r.mib} MiB with ${world} processes`);
  return rows.map((r) => ({ world: r.world, mib: r.mib, timesMs: r.times_ms }));
}
