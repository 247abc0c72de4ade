/**
 * @module backend/cuda/registry
 * Every kernel family of the cuda backend, the module of all their CUDA sources (compiled once
 * per process: NVRTC for the device, g++ for the host driver), and registration with tfjs: one
 * `registerBackend` and one `registerKernel` per tfjs kernel name, for a backend name ('cuda').
 */
import { tf } from '../tf.js';
import { CudaBackend, type CudaBackendOptions } from './backend.js';
import type { CudaDriver } from './driver.js';
import type { KernelSource } from './kernel-source.js';
import { binaryFamily } from './kernels/binary.js';
import type { CudaKernel, KernelFamily } from './kernels/common.js';
import { gatherFamily } from './kernels/gather.js';
import { layoutFamily } from './kernels/layout.js';
import { matmulFamily } from './kernels/matmul.js';
import { reduceFamily } from './kernels/reduce.js';
import { unaryFamily } from './kernels/unary.js';
import { valuesFamily } from './kernels/values.js';

export const FAMILIES: readonly KernelFamily[] = [binaryFamily, unaryFamily, reduceFamily, layoutFamily, gatherFamily, valuesFamily, matmulFamily];

/** Every CUDA kernel source, in module order. */
export function allKernelSources(): KernelSource[] {
  return FAMILIES.flatMap((f) => f.sources);
}

/** Every tfjs kernel the backend implements. */
export function allKernels(): CudaKernel[] {
  return FAMILIES.flatMap((f) => f.kernels);
}

/** The tfjs kernel names the backend implements, sorted. */
export function kernelNames(): string[] {
  return allKernels().map((k) => k.kernelName).sort();
}

/**
 * Registers backend `name` over `driver` (the driver must have loaded `allKernelSources()`),
 * with every kernel. Returns the backend instance tfjs will use.
 */
export function registerCudaBackend(driver: CudaDriver, name = 'cuda', opts: CudaBackendOptions = {}, priority = 0): CudaBackend {
  if (tf.findBackend(name)) throw new Error(`a tfjs backend named ${name} is already registered`);
  const backend = new CudaBackend(driver, opts);
  tf.registerBackend(name, () => backend, priority);
  for (const k of allKernels()) {
    tf.registerKernel({ kernelName: k.kernelName, backendName: name, kernelFunc: k.kernelFunc as unknown as tf.KernelFunc });
  }
  return backend;
}
