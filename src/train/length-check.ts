/**
 * @module train/length-check
 * Before training: how much of the training records the run's budgets cut (src/data/length-budget.ts
 * — encoder tokens per rendered record, instruction and answer tokens, decoder positions), on up
 * to `sample` records spread evenly over the data set. Each budget that cuts more than 1 % is a
 * warning naming the key to raise; with `failOnTruncation` (`train --fail-on-truncation`) it is
 * an error, for pipelines that must not train on silently cut data.
 */
import type { Frozen } from '../config/load.js';
import type { WorkerConfig } from '../config/worker-config.js';
import type { EncodeContext } from '../data/collate.js';
import { Dataset } from '../data/dataset.js';
import { budgetLayoutOf, formatLengthBudget, LengthBudgetMeter, type LengthBudget } from '../data/length-budget.js';
import { findTabularSchema, readTabularSchema } from '../data/tabular-file.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { encodeContextOf } from '../model/encode-context.js';
import type { TextTokenizer } from '../tokenizers/tokenizer.js';
import { runTokenizers } from './run-model.js';

export interface LengthCheckInput {
  config: Frozen<WorkerConfig>;
  dataset: Dataset;
  encodeContext: EncodeContext;
  decoderTokenizer: TextTokenizer;
}

/** The same check for a process that holds no training session (the local launcher, before its workers start). */
export async function checkRunLengthBudget(config: Frozen<WorkerConfig>, log: Logger, opts: { failOnTruncation: boolean }): Promise<LengthBudget> {
  const dataset = await Dataset.open(config.data.train, { onInvalid: config.data.on_invalid, log, cacheDir: config.data.cache_dir });
  try {
    const tokenizers = await runTokenizers(config);
    const schema = readTabularSchema(findTabularSchema(config.data.train, config.data.tabular_schema));
    return await checkLengthBudget({ config, dataset, encodeContext: encodeContextOf(config, tokenizers, schema), decoderTokenizer: tokenizers.decoderTokenizer }, log, opts);
  } finally {
    await dataset.close();
  }
}

export async function checkLengthBudget(input: LengthCheckInput, log: Logger, opts: { failOnTruncation: boolean; sample?: number }): Promise<LengthBudget> {
  const { dataset, config } = input;
  const sample = Math.min(dataset.size, opts.sample ?? 2000);
  const stride = dataset.size / Math.max(1, sample);
  const indices = Array.from({ length: sample }, (_, i) => Math.floor(i * stride));
  const meter = new LengthBudgetMeter(input.encodeContext, budgetLayoutOf(config.model, input.decoderTokenizer), { sampled: sample < dataset.size });
  for (const { record } of await dataset.get(indices)) meter.add(record);
  const budget = meter.result();
  for (const warning of budget.warnings) log.warn('length budget', { warning });
  if (opts.failOnTruncation && budget.warnings.length > 0) {
    throw new ConfigError(`--fail-on-truncation: ${budget.warnings.length} length budget(s) cut more than 1 % of the training data:\n${formatLengthBudget(budget)}`);
  }
  return budget;
}
