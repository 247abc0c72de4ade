/**
 * @module config/schema
 * The one convict schema of instructue, composed of one section per area. Every key has a
 * `doc`, a `format` and a `default`; `configs/README.md` is generated from these docs.
 */
import type convict from 'convict';
import { oneOf } from './formats.js';
import { controlSchema, type ControlConfig } from './sections/control.js';
import { dataSchema, type DataConfig } from './sections/data.js';
import { distSchema, type DistConfig } from './sections/distributed.js';
import { modelSchema, type ModelConfig } from './sections/model.js';
import { trainSchema, type TrainConfig } from './sections/train.js';

export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu' | 'webgpu';

export interface InstructueConfig {
  name: string;
  backend: BackendName;
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
  backend: { doc: 'tfjs backend: auto tries tensorflow (tfjs-node-gpu, tfjs-node), then wasm, then cpu; webgpu (experimental, needs the webgpu npm packages, see docs/gpu.md) is used only when named', format: oneOf(['auto', 'tensorflow', 'wasm', 'cpu', 'webgpu']), default: 'auto', env: 'INSTRUCTUE_BACKEND', arg: 'backend', identity: false },
  seed: { doc: 'Seed for weights, data order and every random draw', format: 'int', default: 1234, arg: 'seed' },
  model: modelSchema,
  data: dataSchema,
  train: trainSchema,
  dist: outsideIdentity(distSchema),
  control: outsideIdentity(controlSchema),
};

export type { DataConfig, DistConfig, ModelConfig, TrainConfig };
