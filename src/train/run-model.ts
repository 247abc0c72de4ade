/**
 * @module train/run-model
 * The model of a run config, built the same way for training, inference and the report: the
 * run's seed, and for the built-in tiny tokenizer the vocabulary of the synthetic data (the
 * one place that ties the tiny preset to src/data/synth).
 */
import type { BackendOptions } from '../backend/select.js';
import type { Frozen } from '../config/load.js';
import type { WorkerConfig } from '../config/worker-config.js';
import { SYNTH_LEXICON } from '../data/synth/lexicon.js';
import type { TabularSchema } from '../data/tabular.js';
import type { Logger } from '../log.js';
import { buildModel, loadTokenizers, type BuiltModel } from '../model/build.js';

/**
 * The backend options of a run. BLAS threads: `blas_threads`, else (0) one thread when the run
 * sums gradients exactly — OpenBLAS may round a GEMM differently at another thread count, and a
 * 1-worker run (all cores) and a 2-worker run (half each) must compute every micro-batch the
 * same — and cores / local workers otherwise.
 */
export function backendOptionsOf(config: Frozen<Pick<WorkerConfig, 'cuda' | 'webgpu' | 'blas_threads' | 'train'>>): BackendOptions {
  const threads = config.blas_threads > 0 ? config.blas_threads : config.train.exact_sum ? 1 : 0;
  return { cuda: config.cuda, webgpu: config.webgpu, blas: { threads } };
}

/** The run's tokenizers without its weights (length checks, import, vocab). */
export function runTokenizers(config: Frozen<Pick<WorkerConfig, 'model'>>): ReturnType<typeof loadTokenizers> {
  return loadTokenizers(config.model, SYNTH_LEXICON);
}

export function buildRunModel(config: Frozen<Pick<WorkerConfig, 'model' | 'seed'>>, tabularSchema: TabularSchema, log: Logger): Promise<BuiltModel> {
  return buildModel(config.model, { seed: config.seed, tabularSchema, vocabulary: SYNTH_LEXICON, log });
}
