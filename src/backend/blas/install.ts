/**
 * @module backend/blas/install
 * Puts the native BLAS under the wasm backend's `BatchMatMul`, once per process, and takes it
 * out again on request (the bench's "BLAS off", the comparison tests). When no BLAS loads, the
 * built-in kernel stays and one warning says why and how to install one; later calls stay
 * quiet. Must run after the wasm backend is initialised: the built-in kernel is kept and put
 * back as registered, and its setup (done at initialisation) must have happened.
 */
import type { Logger } from '../../log.js';
import { tf } from '../tf.js';
import { blasBatchMatMul, type ThreadBudget } from './batch-matmul.js';
import { BLAS_ENV_VAR, loadBlas, type Blas } from './openblas.js';
import { chooseBlasThreads } from './threads.js';

export interface BlasOptions {
  /** Use BLAS when one loads (default true); false puts the built-in kernel back. */
  enabled?: boolean;
  /** Threads for the BLAS; 0 or absent = cores / local workers (config key `blas_threads`). */
  threads?: number;
  /** Search LD_LIBRARY_PATH, the linker cache and system folders too (default true). */
  systemSearch?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** What the wasm backend's matmul runs on, for the backend log line. */
export interface BlasStatus {
  active: boolean;
  library?: string;
  threads?: number | null;
  /** OpenBLAS's kernel family and where that choice came from. */
  core?: string | null;
  reason?: string;
}

/** null: not tried yet; false: tried and found nothing (stays so: the warning is logged once). */
let loaded: Blas | false | null = null;
let builtin: tf.KernelConfig | undefined;
let active = false;
const budget: ThreadBudget = { max: 1, current: 1 };
let status: BlasStatus = { active: false, reason: 'not installed' };

/** Whether the wasm backend's BatchMatMul runs in BLAS right now. */
export function blasMatMulActive(): boolean {
  return active;
}

/** What the last `installBlas` did. */
export function blasStatus(): BlasStatus {
  return status;
}

function register(kernelFunc: tf.KernelFunc, setupFunc?: tf.KernelConfig['setupFunc']): void {
  if (tf.getKernel('BatchMatMul', 'wasm')) tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc, ...(setupFunc ? { setupFunc } : {}) });
}

function restoreBuiltin(): void {
  if (active && builtin) register(builtin.kernelFunc, builtin.setupFunc);
  active = false;
}

/** Installs (or, with `enabled: false`, removes) the BLAS matmul on wasm; returns what runs now. */
export function installBlas(log: Logger, opts: BlasOptions = {}): BlasStatus {
  status = install(log, opts);
  return status;
}

function install(log: Logger, opts: BlasOptions): BlasStatus {
  const env = opts.env ?? process.env;
  if (opts.enabled === false || env[BLAS_ENV_VAR] === 'none') {
    restoreBuiltin();
    return { active: false, reason: opts.enabled === false ? 'disabled' : `${BLAS_ENV_VAR}=none` };
  }
  if (loaded === null) {
    try {
      loaded = loadBlas({ env, systemSearch: opts.systemSearch ?? true });
    } catch (err) {
      loaded = false;
      log.warn('no BLAS found: wasm matmuls use the built-in kernel', { reason: (err as Error).message });
    }
  }
  if (loaded === false) return { active: false, reason: 'not found' };
  const choice = chooseBlasThreads(opts.threads ?? 0, env);
  if (choice.threads !== null) loaded.setThreads(choice.threads);
  // What the library runs large GEMMs on (its own setting when OPENBLAS_NUM_THREADS decides).
  budget.max = budget.current = loaded.threads() ?? 1;
  if (!active) {
    builtin ??= tf.getKernel('BatchMatMul', 'wasm');
    register(blasBatchMatMul(loaded, budget) as unknown as tf.KernelFunc);
    active = true;
  }
  return { active: true, library: loaded.found.path, threads: budget.max, core: `${loaded.coreName()} (${loaded.coreFrom})`, reason: choice.reason };
}

/** The loaded BLAS's build line (for the bench and logs), or null. */
export function blasDescription(): string | null {
  return loaded ? loaded.describe() : null;
}
