/**
 * @module train/preflight
 * Checks made before anything is built or started, so a run that cannot work fails in well
 * under a second with a message naming the keys to change, instead of minutes later deep in
 * tfjs (B8, B11):
 * - local workers: at least 1, at most `data.virtual_shards` and at most
 *   `dist.max_local_workers` (0 = 4 × this machine's CPUs, at least 8): every local worker is a
 *   whole training process with its own model copy and backend threads, so past a few per core
 *   the machine only switches between them (and a typo like `--workers 1000` would start 1000);
 * - memory: the estimate of src/train/memory-estimate.ts for the config's model and micro-batch,
 *   times the local processes, against what this process may use: `train.memory_limit_mb` when
 *   set, else the tightest of the cgroup v2 `memory.max` and v1 `memory.limit_in_bytes` of this
 *   process's cgroup and its ancestors, and the machine's RAM. `train.memory_check=false` skips
 *   it. The limit, not the free memory, is the yardstick: page cache and other jobs come and go.
 *   Accelerator memory (cuda, webgpu) is not checked: only what the host keeps is counted there.
 * The model's shape comes from the config and, for Hugging Face folders, their config.json; the
 * vocabulary sizes from the same tokenizers the build uses, so the parameter count is exact.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { WorkerConfig } from '../config/worker-config.js';
import { PREAMBLE } from '../data/render-templates.js';
import { SYNTH_LEXICON } from '../data/synth/lexicon.js';
import { findTabularSchema, readTabularSchema } from '../data/tabular-file.js';
import { SOURCE_NAMES } from '../data/types.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { SPECIAL_TOKENS } from '../model/special-tokens.js';
import { loadEncoderTokenizer, loadTextTokenizer } from '../tokenizers/hf-tokenizer.js';
import type { EncoderTokenizer, TextTokenizer } from '../tokenizers/tokenizer.js';
import { tinyEncoderTokenizer, tinyTextTokenizer } from '../tokenizers/wordpiece-vocab.js';
import { parseBertConfig, parseQwen2Config, readHfConfig } from '../weights/hf-folder.js';
import { microBatchSize } from './micro-batches.js';
import { estimateMemory, PROCESS_OVERHEAD_BYTES, type BatchShape, type MemoryEstimate, type ModelShape } from './memory-estimate.js';

/** What a process may use, and where that figure came from. */
export interface MemoryLimit {
  bytes: number;
  source: string;
}

/** Where the cgroup files are read (tests point these at folders of their own). */
export interface LimitRoots {
  proc: string;
  cgroup: string;
  totalMemory: number;
}

const SYSTEM_ROOTS: LimitRoots = { proc: '/proc', cgroup: '/sys/fs/cgroup', totalMemory: totalmem() };
/** cgroup v1 writes "no limit" as a huge page-aligned number (2^63 rounded down). */
const NO_LIMIT = 2 ** 60;

/** The tightest memory limit of this process: its cgroup (v2 or v1, up to the root) or the RAM. */
export function memoryLimit(roots: LimitRoots = SYSTEM_ROOTS): MemoryLimit {
  let best: MemoryLimit = { bytes: roots.totalMemory, source: 'total RAM' };
  let cgroups: string;
  try {
    cgroups = readFileSync(join(roots.proc, 'self', 'cgroup'), 'utf8');
  } catch {
    return best;
  }
  for (const line of cgroups.split('\n')) {
    const [id, controllers, path] = line.split(':');
    if (path === undefined) continue;
    const files = id === '0' && controllers === ''
      ? ancestors(path).map((p) => join(roots.cgroup, p, 'memory.max'))
      : controllers!.split(',').includes('memory') ? ancestors(path).map((p) => join(roots.cgroup, 'memory', p, 'memory.limit_in_bytes')) : [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8').trim();
      } catch {
        continue;
      }
      const bytes = Number(text);
      if (text === 'max' || !Number.isFinite(bytes) || bytes >= NO_LIMIT) continue;
      if (bytes < best.bytes) best = { bytes, source: `${file.endsWith('memory.max') ? 'cgroup v2' : 'cgroup v1'} ${file}` };
    }
  }
  return best;
}

/** `/a/b` → ['/a/b', '/a', '/']. */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return Array.from({ length: parts.length + 1 }, (_, i) => '/' + parts.slice(0, parts.length - i).join('/'));
}

/** The largest `--workers` the local launcher starts on this machine. */
export function maxLocalWorkers(config: Frozen<Pick<InstructueConfig, 'dist'>>): number {
  return config.dist.max_local_workers || Math.max(8, 4 * availableParallelism());
}

/** Refuses a local worker count that cannot work or would swamp the machine. @throws ConfigError */
export function checkLocalWorkers(config: Frozen<InstructueConfig>, workers: number): void {
  if (!Number.isInteger(workers) || workers < 1) throw new ConfigError(`--workers must be a whole number of at least 1; got ${workers}`);
  if (workers > config.data.virtual_shards) {
    throw new ConfigError(`--workers ${workers} exceeds data.virtual_shards (${config.data.virtual_shards}): every worker needs a virtual shard of its own; use at most ${config.data.virtual_shards} workers or raise data.virtual_shards`);
  }
  const max = maxLocalWorkers(config);
  if (workers > max) {
    const why = config.dist.max_local_workers ? 'dist.max_local_workers' : `dist.max_local_workers (0 = 4 × ${availableParallelism()} CPUs, at least 8)`;
    throw new ConfigError(`--workers ${workers} would start ${workers} training processes on this machine, more than ${max} (${why}); each holds its own model copy and backend threads. Use fewer workers, or raise dist.max_local_workers if this machine can carry them.`);
  }
}

export interface MemoryCheckOptions {
  /** Training processes on this machine (the local launcher's workers; 1 for a single process). */
  processes: number;
  /** World size the processes train in (their share of the global batch's micro-batches). */
  worldSize: number;
  /** Bytes of this machine's other processes of the run (the launcher with its coordinator). */
  extraBytes?: number;
  log: Logger;
  /** Test hook: the limit instead of the detected one. */
  limit?: MemoryLimit;
}

export interface MemoryCheck {
  estimate: MemoryEstimate;
  /** The whole machine's need: processes × one process + extra. */
  needBytes: number;
  limit: MemoryLimit;
}

/**
 * Estimates the run's memory and refuses it when it exceeds the limit (unless
 * `train.memory_check` is false). @throws ConfigError naming the estimate, the limit and the keys
 */
export async function checkMemory(config: Frozen<WorkerConfig>, opts: MemoryCheckOptions): Promise<MemoryCheck> {
  const { model, batch } = await runShape(config, opts.worldSize);
  const estimate = estimateMemory(model, batch, config.backend === 'webgpu' || config.backend === 'cuda');
  const needBytes = opts.processes * estimate.bytes.total + (opts.extraBytes ?? 0);
  const limit = opts.limit ?? (config.train.memory_limit_mb > 0 ? { bytes: config.train.memory_limit_mb * 2 ** 20, source: 'train.memory_limit_mb' } : memoryLimit());
  const fields = { parameters: estimate.parameters.total, trainable: estimate.parameters.trainable, need: gib(needBytes), limit: gib(limit.bytes), from: limit.source };
  if (!config.train.memory_check) {
    opts.log.info('memory preflight skipped (train.memory_check=false)', fields);
    return { estimate, needBytes, limit };
  }
  if (needBytes > limit.bytes) throw new ConfigError(refusal(estimate, batch, needBytes, limit, opts.processes));
  opts.log.debug('memory preflight passed', fields);
  return { estimate, needBytes, limit };
}

function refusal(e: MemoryEstimate, batch: BatchShape, need: number, limit: MemoryLimit, processes: number): string {
  const p = e.parameters;
  const b = e.bytes;
  const terms = [
    `weights ${gib(b.weights)} (${billions(p.total)} parameters: decoder layers ${billions(p.decoderLayers)}, embeddings ${billions(p.embeddings)}, encoder ${billions(p.encoder)}, trainable ${billions(p.trainable)})`,
    ...(b.loading ? [`their copy while loading ${gib(b.loading)}`] : []),
    `the step's weight-sized copies ${gib(b.backward)}`,
    `trainable state ${gib(b.trainableState)}`,
    `activations of one micro-batch of ${batch.microBatch} × ${batch.sequenceTokens} tokens ${gib(b.activations)}`,
    `LM logits ${gib(b.logits)}`, `encoder ${gib(b.encoder)}`, `process ${gib(b.overhead)}`,
  ];
  return [
    `this configuration needs about ${gib(need)} of memory${processes > 1 ? ` (${processes} local workers × ${gib(b.total)}, and the launcher)` : ''}, more than the ${gib(limit.bytes)} this process may use (${limit.source}).`,
    `Estimate per process: ${terms.join(', ')}.`,
    'To fit: a smaller model (model.decoder.hidden, model.decoder.layers, model.decoder.intermediate, or a smaller model in model.decoder.hf_dir),',
    'fewer samples per micro-batch (train.micro_batch), shorter sequences (data.max_records_per_source, data.max_instruction_tokens, data.max_answer_tokens, model.decoder.max_positions)',
    `${processes > 1 ? 'or fewer local workers (--workers)' : ''}; set train.memory_limit_mb if the limit is wrong, or skip this check with --set train.memory_check=false.`,
  ].join(' ').replace(' ;', ';');
}

/** The model's dimensions (as the build will make them) and one process's batch. */
async function runShape(config: Frozen<WorkerConfig>, worldSize: number): Promise<{ model: ModelShape; batch: BatchShape }> {
  const m = config.model;
  const textOnly = m.input_mode === 'text_only';
  const decTok = await decoderTokenizer(config);
  let decoder: ModelShape['decoder'];
  let maxPositions: number;
  if (m.decoder.hf_dir) {
    const hf = parseQwen2Config(await readHfConfig(m.decoder.hf_dir), `${m.decoder.hf_dir}/config.json`);
    decoder = { hidden: hf.hidden_size, layers: hf.num_hidden_layers, heads: hf.num_attention_heads, kvHeads: hf.num_key_value_heads, headSize: hf.head_dim, intermediate: hf.intermediate_size, vocab: hf.vocab_size };
    maxPositions = Math.min(m.decoder.max_positions, hf.max_position_embeddings);
  } else {
    const d = m.decoder;
    // As src/model/build.ts: the tiny vocabulary rounded up to a multiple of 64 with room for the special tokens.
    decoder = { hidden: d.hidden, layers: d.layers, heads: d.heads, kvHeads: d.kv_heads, headSize: d.hidden / d.heads, intermediate: d.intermediate, vocab: Math.ceil((decTok.vocabSize + SPECIAL_TOKENS.length) / 64) * 64 };
    maxPositions = d.max_positions;
  }
  let encoder: ModelShape['encoder'] = null;
  if (!textOnly && m.encoder.hf_dir) {
    const hf = parseBertConfig(await readHfConfig(m.encoder.hf_dir), `${m.encoder.hf_dir}/config.json`);
    encoder = { hidden: hf.hidden_size, layers: hf.num_hidden_layers, heads: hf.num_attention_heads, intermediate: hf.intermediate_size, vocab: hf.vocab_size, maxPositions: hf.max_position_embeddings, typeVocab: hf.type_vocab_size };
  } else if (!textOnly) {
    const e = m.encoder;
    encoder = { hidden: e.hidden, layers: e.layers, heads: e.heads, intermediate: e.intermediate, vocab: (await encoderTokenizer(config)).vocabSize, maxPositions: Math.max(e.max_len, 64), typeVocab: 2 };
  }
  const model: ModelShape = {
    decoder, encoder, lora: { r: m.lora.r, targets: m.lora.targets }, specialTokens: SPECIAL_TOKENS.length,
    sourceAdapters: m.use_sequences ? SOURCE_NAMES.length : 0, tabularDim: m.use_tabular ? m.tabular_dim : 0,
    fromHf: Boolean(m.decoder.hf_dir || (!textOnly && m.encoder.hf_dir)),
  };
  const d = config.data;
  const instruction = decTok.encode('Instruction:').length + d.max_instruction_tokens;
  const answer = d.max_answer_tokens + 1;
  const prompt = textOnly
    ? d.max_text_tokens + instruction
    : (m.preamble === 'full' ? decTok.encode(PREAMBLE).length : 0) + (m.use_sequences ? SOURCE_NAMES.length * (2 + d.max_records_per_source) : 0)
      + (m.use_tabular ? 2 + tabularFeatures(config) : 0) + instruction;
  const t = config.train;
  const microBatch = microBatchSize(t.micro_batch, t.global_batch, d.virtual_shards);
  const batch: BatchShape = {
    microBatch, gradientTerms: Math.ceil(Math.ceil(t.global_batch / microBatch) / worldSize), exactSum: t.exact_sum, sequenceTokens: Math.min(maxPositions, prompt + 1 + answer), answerTokens: answer,
    recordsPerSample: !textOnly && m.use_sequences ? SOURCE_NAMES.length * d.max_records_per_source : 0, recordTokens: m.encoder.max_len,
  };
  return { model, batch };
}

/** F of the data's tabular schema; 0 when it cannot be read here (the session reports that itself). */
function tabularFeatures(config: Frozen<WorkerConfig>): number {
  try {
    return readTabularSchema(findTabularSchema(config.data.train, config.data.tabular_schema)).features.length;
  } catch {
    return 0;
  }
}

function decoderTokenizer(config: Frozen<WorkerConfig>): Promise<TextTokenizer> {
  const dir = config.model.decoder.tokenizer_dir || config.model.decoder.hf_dir;
  return dir ? loadTextTokenizer(dir) : Promise.resolve(tinyTextTokenizer(SYNTH_LEXICON));
}

function encoderTokenizer(config: Frozen<WorkerConfig>): Promise<EncoderTokenizer> {
  const dir = config.model.encoder.tokenizer_dir || config.model.encoder.hf_dir;
  return dir ? loadEncoderTokenizer(dir) : Promise.resolve(tinyEncoderTokenizer(SYNTH_LEXICON));
}

/** The launcher's own share (its coordinator and control server) beside its workers. */
export const LAUNCHER_BYTES = PROCESS_OVERHEAD_BYTES;

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 2 : 1)} GiB`;
}

function billions(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${n}`;
}
