/**
 * @module backend/cuda/load
 * Bringing the cuda backend up in a process: build the driver (the GPU's, or the host driver
 * when `cuda.driver` is host), register the backend and its kernels as 'cuda', make it current.
 * Once per process; later calls reuse it. `cudaPresent` is the cheap question `auto` asks first:
 * does libcuda load and see a GPU?
 */
import { BackendError } from '../../errors.js';
import type { CudaConfig } from '../../config/sections/cuda.js';
import { tf } from '../tf.js';
import type { CudaBackend } from './backend.js';
import { DeviceDriver } from './device-driver.js';
import type { CudaDriver, DeviceInfo } from './driver.js';
import { HostDriver } from './host/host-driver.js';
import { cuChecker, loadLibcuda } from './libcuda.js';
import { allKernelSources, registerCudaBackend } from './registry.js';

export const CUDA_DEFAULTS: CudaConfig = { device: 0, tf32: false, kernel_cache: '', worker_devices: '', driver: 'device' };

let loaded: { backend: CudaBackend; driver: CudaDriver; config: CudaConfig } | null = null;

/** Loads (once) and selects the cuda backend; returns the device it runs on. */
export async function loadCudaBackend(config: Partial<CudaConfig> = {}, env: NodeJS.ProcessEnv = process.env): Promise<{ info: DeviceInfo; driver: CudaDriver; config: CudaConfig }> {
  const cfg = { ...CUDA_DEFAULTS, ...config };
  if (!loaded) {
    const kernels = allKernelSources();
    let driver: CudaDriver;
    try {
      driver = cfg.driver === 'host' ? new HostDriver({ kernels, cacheDir: cfg.kernel_cache }) : new DeviceDriver({ kernels, device: cfg.device, tf32: cfg.tf32, cacheDir: cfg.kernel_cache, env });
    } catch (err) {
      throw new BackendError(`backend "cuda" is not available: ${(err as Error).message}`, { cause: err });
    }
    loaded = { backend: registerCudaBackend(driver, 'cuda'), driver, config: cfg };
  }
  if (!(await tf.setBackend('cuda'))) throw new BackendError('backend "cuda" failed to initialise');
  await tf.ready();
  return { info: loaded.driver.info, driver: loaded.driver, config: loaded.config };
}

/** The device the loaded cuda backend runs on (null before it is loaded). */
export function cudaDevice(): DeviceInfo | null {
  return loaded?.driver.info ?? null;
}

/** Null when libcuda loads and sees at least one GPU; else why not (for `auto`'s log line). */
export function cudaAbsence(env: NodeJS.ProcessEnv = process.env): string | null {
  try {
    const { cu } = loadLibcuda(env);
    const check = cuChecker(cu);
    check('cuInit', cu.cuInit(0));
    const count = [0];
    check('cuDeviceGetCount', cu.cuDeviceGetCount(count));
    return count[0]! > 0 ? null : 'libcuda sees no GPU';
  } catch (err) {
    return (err as Error).message.split('\n')[0]!;
  }
}
