/**
 * @module train/run-model
 * The model of a run config, built the same way for training, inference and the report: the
 * run's seed, and for the built-in tiny tokenizer the vocabulary of the synthetic data (the
 * one place that ties the tiny preset to src/data/synth).
 */
import type { Frozen } from '../config/load.js';
import type { WorkerConfig } from '../config/worker-config.js';
import { SYNTH_LEXICON } from '../data/synth/lexicon.js';
import type { TabularSchema } from '../data/tabular.js';
import type { Logger } from '../log.js';
import { buildModel, type BuiltModel } from '../model/build.js';

export function buildRunModel(config: Frozen<Pick<WorkerConfig, 'model' | 'seed'>>, tabularSchema: TabularSchema, log: Logger): Promise<BuiltModel> {
  return buildModel(config.model, { seed: config.seed, tabularSchema, vocabulary: SYNTH_LEXICON, log });
}
