/**
 * @module backend/select
 * Chooses the tfjs backend. `auto` tries our cuda backend when libcuda loads and sees a GPU
 * (src/backend/cuda; a GPU whose cuBLAS or NVRTC is missing is one warning, then the fallback),
 * then the native TensorFlow bindings (tfjs-node-gpu, then tfjs-node; both optional
 * dependencies that cannot install without libtensorflow), then the wasm backend (SIMD, the
 * CPU default), then pure-JS cpu. A missing native package is one log line, not a crash.
 * Kernel gaps of wasm/cpu are filled before any op runs; on wasm the matmuls run in a native
 * BLAS when one is found (backend/blas).
 */
import { BackendError } from '../errors.js';
import type { Logger } from '../log.js';
import { installBlas, type BlasOptions } from './blas/install.js';
import { installKernelFixes } from './kernels.js';
import { tf } from './tf.js';
import { installWasmDataKernels } from './wasm-data-kernels.js';
import { loadWebgpuBackend } from './webgpu.js';
import type { BackendName, CudaConfig, WebgpuConfig } from '../config/schema.js';
import { cudaAbsence, loadCudaBackend } from './cuda/load.js';

export type ActiveBackend = 'cuda' | 'tensorflow' | 'wasm' | 'cpu' | 'webgpu';

export interface BackendOptions {
  /** The `cuda` config section (defaults when absent). */
  cuda?: Partial<CudaConfig>;
  /** The `webgpu` config section (defaults when absent). */
  webgpu?: { readonly dawn_options?: readonly string[]; readonly feature_level?: WebgpuConfig['feature_level'] };
  /** The wasm backend's BLAS matmuls (threads from the config key `blas_threads`). */
  blas?: BlasOptions;
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** Try to load a native tfjs package; returns an error text when it is unusable. */
async function tryNative(pkg: string): Promise<string | null> {
  try {
    await import(pkg);
    return tf.findBackend('tensorflow') ? null : `${pkg} loaded but registered no 'tensorflow' backend`;
  } catch (err) {
    // Absent packages give MODULE_NOT_FOUND; installed-without-addon ones throw with no code.
    return (err as Error).message.split('\n')[0] ?? String(err);
  }
}

async function loadWasm(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
}

async function selectCuda(options: BackendOptions, log: Logger): Promise<'cuda'> {
  const { info, config } = await loadCudaBackend(options.cuda);
  log.info('backend selected', { backend: 'cuda', device: info.name, computeCapability: info.computeCapability.join('.'), driver: config.driver, ...info.versions });
  return 'cuda';
}

/** Select and initialise the backend; returns the one in use. */
export async function selectBackend(requested: BackendName, log: Logger, options: BackendOptions = {}): Promise<ActiveBackend> {
  // PROD silences tfjs's console banners ("install tfjs-node", kernel re-registration); our
  // own log line says which backend runs.
  tf.env().set('PROD', true);
  installKernelFixes();
  if (requested === 'webgpu') {
    const adapter = await loadWebgpuBackend({ dawnOptions: options.webgpu?.dawn_options, featureLevel: options.webgpu?.feature_level });
    log.info('backend selected', { backend: 'webgpu', adapter });
    return 'webgpu';
  }
  if (requested === 'cuda') return selectCuda(options, log);
  if (requested === 'auto') {
    const absent = options.cuda?.driver === 'host' ? null : cudaAbsence();
    if (absent === null) {
      try {
        return await selectCuda(options, log);
      } catch (err) {
        log.warn('a GPU is present but the cuda backend cannot run, falling back', { reason: (err as Error).message });
      }
    } else log.info('cuda not available, falling back', { reason: absent });
  }
  if (requested === 'tensorflow' || requested === 'auto') {
    const failures: string[] = [];
    for (const pkg of NATIVE_PACKAGES) {
      const failure = await tryNative(pkg);
      if (failure === null && (await tf.setBackend('tensorflow'))) {
        log.info('backend selected', { backend: 'tensorflow', package: pkg });
        return 'tensorflow';
      }
      failures.push(`${pkg}: ${failure}`);
    }
    if (requested === 'tensorflow') {
      throw new BackendError(`backend "tensorflow" is not available (${failures.join('; ')}). Install libtensorflow for tfjs-node-gpu (see README "GPU backend") or use backend "wasm".`);
    }
    log.info('native tfjs not available, falling back', { tried: NATIVE_PACKAGES, reason: failures[0] });
  }
  if (requested === 'wasm' || requested === 'auto') {
    try {
      await loadWasm();
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        installWasmDataKernels();
        log.info('backend selected', { backend: 'wasm', blas: installBlas(log, options.blas) });
        return 'wasm';
      }
    } catch (err) {
      if (requested === 'wasm') throw new BackendError(`backend "wasm" failed to initialise: ${(err as Error).message}`, { cause: err });
      log.warn('wasm backend failed, falling back to cpu', { reason: (err as Error).message });
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  log.info('backend selected', { backend: 'cpu' });
  return 'cpu';
}
