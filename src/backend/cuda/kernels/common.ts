/**
 * @module backend/cuda/kernels/common
 * What every kernel family file shares: the shape of a registered cuda kernel, the C types of
 * the device dtypes (bool is stored as int), dtype checks with errors that name the kernel, and
 * padding shapes/strides into `Dims` arguments.
 */
import { BackendError } from '../../../errors.js';
import type { tf } from '../../tf.js';
import type { CudaBackend } from '../backend.js';
import { MAX_RANK, type KernelSource } from '../kernel-source.js';

export interface CudaKernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: CudaBackend;
  attrs: Record<string, unknown>;
}

/** A tfjs kernel of the cuda backend (registered by register.ts). */
export interface CudaKernel {
  kernelName: string;
  kernelFunc: (args: CudaKernelArgs) => tf.TensorInfo | tf.TensorInfo[];
}

/** A kernel family: its CUDA sources and the tfjs kernels that launch them. */
export interface KernelFamily {
  sources: KernelSource[];
  kernels: CudaKernel[];
}

/** Device storage type of a dtype: 'f32' for float32, 'i32' for int32 and bool. */
export type StorageType = 'f32' | 'i32';

export const CTYPE: Record<StorageType, string> = { f32: 'float', i32: 'int' };

export function storageOf(kernel: string, dtype: tf.DataType): StorageType {
  if (dtype === 'float32') return 'f32';
  if (dtype === 'int32' || dtype === 'bool') return 'i32';
  throw new BackendError(`cuda kernel ${kernel}: dtype ${dtype} is not supported (float32, int32 and bool are)`);
}

/** `values` padded with zeros to MAX_RANK entries (a `Dims` argument). */
export function dims(values: readonly number[]): number[] {
  if (values.length > MAX_RANK) throw new BackendError(`cuda kernels handle rank ≤ ${MAX_RANK}; got rank ${values.length}`);
  return [...values, ...new Array<number>(MAX_RANK - values.length).fill(0)];
}

/** Looks kernel sources up by name; a missing one is our bug. */
export function sourceTable(sources: readonly KernelSource[]): (name: string, kernel: string, dtype?: string) => KernelSource {
  const byName = new Map(sources.map((s) => [s.name, s]));
  return (name, kernel, dtype) => {
    const s = byName.get(name);
    if (!s) throw new BackendError(`cuda kernel ${kernel} has no ${dtype ?? ''} implementation (${name})`);
    return s;
  };
}

/** The grid-stride loop header over `n` elements (index `i`). */
export const GRID_LOOP = 'for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)';

/** Statements that set `var` to the offset of element `i` for strides `stride` over `shape` of `rank`. */
export function stridedOffset(vars: readonly { name: string; stride: string }[], base = '0'): string {
  const init = vars.map((v) => `int ${v.name} = ${base};`).join(' ');
  const rank1 = vars.map((v) => `${v.name} += i * ${v.stride}.d[0];`).join(' ');
  const general = vars.map((v) => `${v.name} += c * ${v.stride}.d[d];`).join(' ');
  return `${init}
    if (rank == 1) { ${rank1} }
    else { int r = i; for (int d = rank - 1; d >= 0; d--) { int c = r % shape.d[d]; r /= shape.d[d]; ${general} } }`;
}
