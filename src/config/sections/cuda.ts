/**
 * @module config/sections/cuda
 * Knobs of the `cuda` backend (src/backend/cuda): which GPU, TF32, where compiled kernels are
 * cached, which GPUs the local launcher hands its workers, and the host driver for testing.
 */
import type convict from 'convict';
import { oneOf } from '../formats.js';

export interface CudaConfig {
  device: number;
  tf32: boolean;
  kernel_cache: string;
  /** A string, or a number when one id was given as JSON. */
  worker_devices: string | number;
  driver: 'device' | 'host';
}

/** A comma-separated list of GPU ids (or UUIDs), or empty; a single id may arrive as a number (`--set cuda.worker_devices=0`). */
function deviceList(val: unknown): void {
  if (typeof val === 'number' && Number.isInteger(val) && val >= 0) return;
  if (typeof val !== 'string' || (val !== '' && !/^[A-Za-z0-9-]+(,[A-Za-z0-9-]+)*$/.test(val))) {
    throw new Error(`must be a comma-separated list of GPU ids such as "0,1,2,3" (or empty); got ${JSON.stringify(val)}`);
  }
}

export const cudaSchema: convict.Schema<CudaConfig> = {
  device: { doc: 'GPU ordinal among the visible ones (CUDA_VISIBLE_DEVICES applies first; a worker that was given its own GPU sees it as 0)', format: 'nat', default: 0, env: 'INSTRUCTUE_CUDA_DEVICE' },
  tf32: { doc: 'Let cuBLAS use TF32 tensor cores for float32 matmuls (10-bit mantissa products, float32 sums; PyTorch\'s allow_tf32); off = exact fp32 GEMMs', format: Boolean, default: false, env: 'INSTRUCTUE_CUDA_TF32' },
  kernel_cache: { doc: 'Folder for compiled kernel modules (NVRTC CUBINs); empty = $XDG_CACHE_HOME/instructue/cuda-kernels or ~/.cache/instructue/cuda-kernels', format: String, default: '', env: 'INSTRUCTUE_CUDA_KERNEL_CACHE' },
  worker_devices: { doc: 'GPUs the local launcher spreads its workers over ("0,1,2,3"): each worker gets CUDA_VISIBLE_DEVICES of the least used one, so one worker owns one GPU when there are as many as workers; empty = workers inherit the environment', format: deviceList, default: '', env: 'INSTRUCTUE_CUDA_WORKER_DEVICES' },
  driver: { doc: 'device = the GPU through libcuda, cuBLAS and NVRTC; host = the same kernels compiled with g++ and run on the CPU (tests the backend without a GPU; slow)', format: oneOf(['device', 'host']), default: 'device', env: 'INSTRUCTUE_CUDA_DRIVER' },
};
