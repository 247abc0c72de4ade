/**
 * @module train/load-trained
 * Rebuilds a trained model for inference and export: the run's config.json, the model built
 * from it, and the trainable tensors of a verified checkpoint (the newest valid one of a run,
 * or a given checkpoint folder).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { selectBackend, type ActiveBackend } from '../backend/select.js';
import { FsCheckpointStore } from '../checkpoint/fs-store.js';
import { TRAINABLE_FILE } from './checkpoint.js';
import { loadConfig, type Frozen } from '../config/load.js';
import type { BackendName, InstructueConfig } from '../config/schema.js';
import { findTabularSchema, readTabularSchema } from '../data/tabular-file.js';
import type { TabularSchema } from '../data/tabular.js';
import { CheckpointError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BuiltModel } from '../model/build.js';
import { buildRunModel } from './run-model.js';
import { parseSafetensors } from '../weights/safetensors.js';
import { runPaths } from './run-dir.js';

export interface TrainedModel {
  config: Frozen<InstructueConfig>;
  built: BuiltModel;
  tabularSchema: TabularSchema;
  backend: ActiveBackend;
  step: number;
  checkpoint: string;
}

export interface LoadTrainedOptions {
  /** A run folder (its newest valid checkpoint is used) … */
  run?: string;
  /** … or one checkpoint folder RUN/checkpoints/step-NNNNNNNN. */
  checkpoint?: string;
  backend?: BackendName;
  log: Logger;
}

const STEP_DIR = /^step-(\d{8})$/;

export async function loadTrainedModel(opts: LoadTrainedOptions): Promise<TrainedModel> {
  if (Boolean(opts.run) === Boolean(opts.checkpoint)) throw new UsageError('give exactly one of --run RUN or --checkpoint DIR');
  const runDir = opts.run ?? dirname(dirname(opts.checkpoint!));
  const configFile = runPaths(runDir).config;
  if (!existsSync(configFile)) throw new UsageError(`${configFile} not found: --run must be a folder written by instructue train (a checkpoint must sit in RUN/checkpoints/)`);
  const config = loadConfig({ file: configFile, overrides: opts.backend ? { backend: opts.backend } : {}, env: {} });
  const store = new FsCheckpointStore(runPaths(runDir).checkpoints, 0);
  let loaded;
  if (opts.checkpoint) {
    const m = STEP_DIR.exec(basename(opts.checkpoint));
    if (!m) throw new UsageError(`${opts.checkpoint} is not a checkpoint folder (expected .../checkpoints/step-NNNNNNNN)`);
    loaded = await store.load(Number(m[1]));
  } else {
    loaded = await store.latestValid((step, reason) => opts.log.warn('checkpoint is corrupt, trying the previous one', { step, reason }));
    if (!loaded) throw new CheckpointError('CHECKPOINT_INVALID', `${runDir} has no valid checkpoint`);
  }
  const backend = await selectBackend(config.backend, opts.log);
  const tabularSchema = readTabularSchema(findTabularSchema(config.data.train, config.data.tabular_schema));
  const built = await buildRunModel(config, tabularSchema, opts.log);
  const file = join(loaded.location, TRAINABLE_FILE);
  built.model.store.restore(parseSafetensors(loaded.files.get(TRAINABLE_FILE)!, file).tensors, file);
  opts.log.info('trained model loaded', { checkpoint: loaded.location, step: loaded.step });
  return { config, built, tabularSchema, backend, step: loaded.step, checkpoint: loaded.location };
}

