/**
 * Runs the PyTorch peer (decoder_layer.py) for bench/model.ts at its best thread setting. On a
 * CPU that is a sweep: torch's intra-op threads × OpenBLAS's threads over {1, cores}, each in
 * its own process (OpenBLAS reads OPENBLAS_NUM_THREADS at load); bench/model.ts keeps the
 * fastest fwd+bwd per case. PyTorch gets the same OpenBLAS kernel family as our wasm+BLAS path (OPENBLAS_CORETYPE,
 * see src/backend/blas/core-type.ts): Debian's OpenBLAS 0.3.21 mis-detects this project's CPUs
 * as "Prescott", which would slow PyTorch down 2-3x and flatter us.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { coreTypeFor, cpuFlags } from '../../src/backend/blas/core-type.js';
import type { LayerCase } from '../layer-case.js';
import type { Timing } from '../timing.js';

export interface PeerSetting {
  torchThreads: number;
  blasThreads: number;
}

/** A Python with torch, or null. */
export function findPython(explicit: string | undefined): string | null {
  const candidates = explicit ? [explicit] : ['/usr/bin/python3', 'python3'];
  for (const py of candidates) {
    if (py.startsWith('/') && !existsSync(py)) continue;
    if (spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return py;
  }
  return null;
}

function runOnce(python: string, device: string, cases: LayerCase[], reps: number, setting: PeerSetting, coreType: string | undefined): Timing[] | string {
  // Relative to the repository root (benchmarks run from there; bundled copies too).
  const script = 'bench/peer/decoder_layer.py';
  const spec = JSON.stringify({ cases, device, reps, warmup: 1, threads: setting.torchThreads });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENBLAS_NUM_THREADS: String(setting.blasThreads),
    // glibc returns big blocks to the OS after each step unless told not to; torch's tuned setups do this.
    MALLOC_MMAP_THRESHOLD_: '4294967296',
    MALLOC_TRIM_THRESHOLD_: '4294967296',
  };
  if (coreType) env.OPENBLAS_CORETYPE = coreType;
  const run = spawnSync(python, [script, spec], { encoding: 'utf8', env, timeout: 20 * 60_000 });
  if (run.status !== 0) return run.stderr.trim().split('\n').pop() ?? `exit ${run.status}`;
  const [header, ...rows] = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const label = `torch ${header!.torch} ${header!.device} ${header!.dtype} (threads ${setting.torchThreads}, OpenBLAS ${setting.blasThreads}${coreType ? ` ${coreType}` : ''})`;
  return rows.map((r) => ({ backend: label, name: String(r.name), forwardTokens: Number(r.tokens), trainTokens: Number(r.tokens), forwardMs: Number(r.forward_ms), trainMs: Number(r.train_ms) }));
}

/** The settings to try: torch threads × OpenBLAS threads over {1, cores} on a CPU; one on a GPU. */
export function peerSettings(device: string): PeerSetting[] {
  const counts = [...new Set([1, availableParallelism()])];
  return device === 'cpu' ? counts.flatMap((torchThreads) => counts.map((blasThreads) => ({ torchThreads, blasThreads }))) : [{ torchThreads: 1, blasThreads: 1 }];
}

export interface PeerRun {
  setting: PeerSetting;
  rows: Timing[];
}

/** One peer process per setting (each setting's figures go to `log`); null when the peer fails. */
export function runPeer(python: string, device: string, cases: LayerCase[], reps: number, settings: PeerSetting[], log: (line: string) => void): PeerRun[] | null {
  if (cases.length === 0) return [];
  const coreType = process.env.OPENBLAS_CORETYPE ?? coreTypeFor(cpuFlags()) ?? undefined;
  const runs: PeerRun[] = [];
  for (const setting of settings) {
    const rows = runOnce(python, device, cases, reps, setting, coreType);
    if (typeof rows === 'string') {
      log(`peer: ${python} failed (${rows}); skipping PyTorch figures`);
      return null;
    }
    log(`peer: ${rows[0]?.backend}: ${rows.map((r) => `${r.name} fwd+bwd ${r.trainMs.toFixed(1)} ms`).join(', ')}`);
    runs.push({ setting, rows });
  }
  return runs;
}
