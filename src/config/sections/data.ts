/**
 * @module config/sections/data
 * Where training data lives, how it is sharded, and the per-sample caps applied in collation.
 */
import type convict from 'convict';
import { oneOf } from '../formats.js';

export interface DataConfig {
  train: string;
  eval: string;
  virtual_shards: number;
  batching: 'mixed' | 'by_instruction';
  on_invalid: 'fail' | 'skip';
  max_records_per_source: number;
  max_instruction_tokens: number;
  max_answer_tokens: number;
  max_text_tokens: number;
  tabular_schema: string;
  cache_dir: string;
}

export const dataSchema: convict.Schema<DataConfig> = {
  train: { doc: 'Training UserQA: a folder of *.jsonl / *.jsonl.gz shards, or one file', format: String, default: '', env: 'INSTRUCTUE_TRAIN_DATA', arg: 'data' },
  eval: { doc: 'Labelled evaluation file or folder (for probes)', format: String, default: '', identity: false },
  virtual_shards: { doc: 'V: fixed number of virtual shards, independent of the number of workers (must be >= the largest world size)', format: 'nat', default: 16 },
  batching: { doc: 'How global batches are drawn: mixed = from all records (paper); by_instruction = every global batch from the records of one instruction (the records without one are a topic too), so no negative differs from its positive by instruction alone (which otherwise names the answer\'s template: a contrastive shortcut that ignores the user). Both keep exactly-once per epoch and world-size-independent batches', format: oneOf(['mixed', 'by_instruction']), default: 'mixed' },
  on_invalid: { doc: 'What a malformed record does: fail (stop with file:line field: reason) or skip (count and report at the end)', format: oneOf(['fail', 'skip']), default: 'fail' },
  max_records_per_source: { doc: 'Most recent records kept per sequential source per user', format: 'nat', default: 8 },
  max_instruction_tokens: { doc: 'Instruction tokens kept (longer instructions are cut)', format: 'nat', default: 32 },
  max_answer_tokens: { doc: 'Answer tokens kept for the LM loss and the answer embedding', format: 'nat', default: 32 },
  max_text_tokens: { doc: 'Prompt tokens kept in the text-only ablation', format: 'nat', default: 384 },
  tabular_schema: { doc: 'tabular-schema.json of the data (docs/data-format.md); empty = look in the data folder, then its parent (where synth and import write it)', format: String, default: '' },
  cache_dir: { doc: 'Root folder for the random-access index (and decompressed copies of .jsonl.gz shards); empty = .instructue-cache/ beside the data, falling back to the OS temp folder', format: String, default: '', env: 'INSTRUCTUE_DATA_CACHE', identity: false },
};
