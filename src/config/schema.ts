/**
 * @module config/schema
 * The one convict schema of instructue, composed of one section per area. Every key has a
 * `doc`, a `format` and a `default`; `configs/README.md` is generated from these docs.
 */
import type convict from 'convict';
import { oneOf } from './formats.js';
import { controlSchema, type ControlConfig } from './sections/control.js';
import { cudaSchema, type CudaConfig } from './sections/cuda.js';
import { dataSchema, type DataConfig } from './sections/data.js';
import { distSchema, type DistConfig } from './sections/distributed.js';
import { modelSchema, type ModelConfig } from './sections/model.js';
import { trainSchema, type TrainConfig } from './sections/train.js';
import { webgpuSchema, type WebgpuConfig } from './sections/webgpu.js';

export type BackendName = 'auto' | 'cuda' | 'tensorflow' | 'wasm' | 'cpu' | 'webgpu';

export interface InstructueConfig {
  name: string;
  backend: BackendName;
  blas_threads: number;
  cuda: CudaConfig;
  webgpu: WebgpuConfig;
  seed: number;
  model: ModelConfig;
  data: DataConfig;
  train: TrainConfig;
  dist: DistConfig;
  control: ControlConfig;
}

/**
 * Marks every key of a section as outside the run identity (src/config/identity.ts): how a run
 * is connected and observed does not change its math.
 */
function outsideIdentity<T>(section: convict.Schema<T>): convict.Schema<T> {
  const mark = (node: Record<string, unknown>): Record<string, unknown> =>
    'default' in node ? { ...node, identity: false } : Object.fromEntries(Object.entries(node).map(([k, v]) => [k, mark(v as Record<string, unknown>)]));
  return mark(section as Record<string, unknown>) as convict.Schema<T>;
}

export const schema: convict.Schema<InstructueConfig> = {
  name: { doc: 'Name of this run configuration', format: String, default: 'custom', identity: false },
  backend: { doc: 'tfjs backend: auto tries cuda (an NVIDIA GPU through libcuda, cuBLAS and NVRTC) when libcuda loads, then tensorflow (tfjs-node-gpu, tfjs-node), then wasm, then cpu; webgpu (needs the webgpu npm packages, see docs/gpu.md) is used only when named', format: oneOf(['auto', 'cuda', 'tensorflow', 'wasm', 'cpu', 'webgpu']), default: 'auto', env: 'INSTRUCTUE_BACKEND', arg: 'backend', identity: false },
  blas_threads: { doc: 'Threads of the native BLAS (OpenBLAS) that runs the wasm backend\'s matmuls; 0 = 1 thread when train.exact_sum is on (a multi-threaded GEMM can round differently with another thread count, and the exact sum promises the same bits for any number of local workers), else cores / local workers (or OPENBLAS_NUM_THREADS when set). The library is found through INSTRUCTUE_BLAS_LIB (a file or folder; "none" = built-in kernel), LD_LIBRARY_PATH and the system folders', format: 'nat', default: 0, env: 'INSTRUCTUE_BLAS_THREADS', arg: 'blas-threads', identity: false },
  // Like the backend choice, which GPU and how it runs are not part of a run's identity.
  cuda: outsideIdentity(cudaSchema),
  webgpu: outsideIdentity(webgpuSchema),
  seed: { doc: 'Seed for weights, data order and every random draw', format: 'int', default: 1234, arg: 'seed' },
  model: modelSchema,
  data: dataSchema,
  train: trainSchema,
  dist: outsideIdentity(distSchema),
  control: outsideIdentity(controlSchema),
};

export type { CudaConfig, WebgpuConfig, DataConfig, DistConfig, ModelConfig, TrainConfig };
