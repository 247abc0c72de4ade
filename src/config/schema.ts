/**
 * @module config/schema
 * The one convict schema of instructue, composed of one section per area. Every key has a
 * `doc`, a `format` and a `default`; `configs/README.md` is generated from these docs.
 */
import type convict from 'convict';
import { oneOf } from './formats.js';
import { controlSchema, type ControlConfig } from './sections/control.js';
import { dataSchema, type DataConfig } from './sections/data.js';
import { distSchema, type DistConfig } from './sections/dist.js';
import { modelSchema, type ModelConfig } from './sections/model.js';
import { trainSchema, type TrainConfig } from './sections/train.js';

export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu' | 'webgpu';

export interface InstructueConfig {
  name: string;
  backend: BackendName;
  blas_threads: number;
  seed: number;
  model: ModelConfig;
  data: DataConfig;
  train: TrainConfig;
  dist: DistConfig;
  control: ControlConfig;
}

export const schema: convict.Schema<InstructueConfig> = {
  name: { doc: 'Name of this run configuration', format: String, default: 'custom' },
  backend: { doc: 'tfjs backend: auto tries tensorflow (tfjs-node-gpu, tfjs-node), then wasm, then cpu; webgpu (experimental, needs the webgpu npm packages, see docs/gpu.md) is used only when named', format: oneOf(['auto', 'tensorflow', 'wasm', 'cpu', 'webgpu']), default: 'auto', env: 'INSTRUCTUE_BACKEND', arg: 'backend' },
  blas_threads: { doc: 'Threads of the native BLAS (OpenBLAS) that runs the wasm backend\'s matmuls; 0 = cores / local workers (or OPENBLAS_NUM_THREADS when set). The library is found through INSTRUCTUE_BLAS_LIB (a file or folder; "none" = built-in kernel), LD_LIBRARY_PATH and the system folders', format: 'nat', default: 0, env: 'INSTRUCTUE_BLAS_THREADS', arg: 'blas-threads' },
  seed: { doc: 'Seed for weights, data order and every random draw', format: 'int', default: 1234, arg: 'seed' },
  model: modelSchema,
  data: dataSchema,
  train: trainSchema,
  dist: distSchema,
  control: controlSchema,
};

export type { DataConfig, DistConfig, ModelConfig, TrainConfig };
