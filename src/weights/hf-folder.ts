/**
 * @module weights/hf-folder
 * A Hugging Face model folder on disk: `config.json` plus `model.safetensors`, or shards listed by
 * `model.safetensors.index.json` (`weight_map`: tensor name → shard file). Reads the weights into
 * host tensors, normalises BERT checkpoint names, and writes such folders (tests build tiny HF
 * checkpoints with it). Also the typed parsers of the two configs we build models from (Qwen2,
 * BERT), which reject what our implementations do not do, and the Qwen2 parameter count.
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WeightsError } from '../errors.js';
import { readSafetensors, storedByteLength, writeSafetensors, type HostTensor, type SafetensorsWriteOptions } from './safetensors.js';

const CONFIG = 'config.json';
const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';
/** transformers refuses safetensors files whose metadata lacks a known `format`. */
const HF_METADATA = { format: 'pt' };

/** Reads and parses a JSON file, with errors that name the file and say what to do. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new WeightsError(`${path}: cannot read ${what} (${(err as Error).message}); point the model path at a Hugging Face model folder`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new WeightsError(`${path}: ${what} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

/** `config.json` of a HF model folder, as a plain object. */
export async function readHfConfig(dir: string): Promise<Record<string, unknown>> {
  const path = join(dir, CONFIG);
  const json = await readJsonFile(path, 'the model config');
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new WeightsError(`${path}: the model config is not a JSON object`);
  return json as Record<string, unknown>;
}

/** All weights of a HF folder (single file or sharded), decoded to float32/int32. */
export async function readHfWeights(dir: string): Promise<Map<string, HostTensor>> {
  const indexPath = join(dir, INDEX);
  if (await pathExists(indexPath)) return readSharded(dir, indexPath);
  const single = join(dir, SINGLE);
  if (await pathExists(single)) return (await readSafetensors(single)).tensors;
  throw new WeightsError(`${dir}: neither ${SINGLE} nor ${INDEX} found; only safetensors checkpoints are supported (convert a pytorch_model.bin with transformers' save_pretrained)`);
}

async function readSharded(dir: string, indexPath: string): Promise<Map<string, HostTensor>> {
  const index = await readJsonFile(indexPath, 'the shard index');
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
    throw new WeightsError(`${indexPath}: "weight_map" (tensor name → shard file) is missing or not an object`);
  }
  const byFile = new Map<string, string[]>();
  for (const [name, file] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof file !== 'string') throw new WeightsError(`${indexPath}: tensor "${name}" maps to ${JSON.stringify(file)}, not a file name`);
    byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }
  for (const [file, names] of byFile) {
    if (!(await pathExists(join(dir, file)))) {
      throw new WeightsError(`${indexPath}: tensor "${names[0]}" maps to ${file}, which does not exist in ${dir}`);
    }
  }
  const out = new Map<string, HostTensor>();
  for (const [file, names] of byFile) {
    const { tensors } = await readSafetensors(join(dir, file));
    for (const name of names) {
      const t = tensors.get(name);
      if (!t) throw new WeightsError(`${indexPath}: tensor "${name}" is listed in ${file}, but ${file} does not contain it`);
      out.set(name, t);
    }
  }
  return out;
}

/**
 * BERT checkpoint names as BertModel uses them: strips a leading `bert.` (BertFor* heads), maps
 * legacy `LayerNorm.gamma/beta` to `weight/bias`, and drops what the encoder does not use:
 * the `embeddings.position_ids` buffer, `pooler.*`, and pre-training heads `cls.*`.
 */
export function normalizeBertNames(weights: Map<string, HostTensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [original, t] of weights) {
    let name = original.startsWith('bert.') ? original.slice('bert.'.length) : original;
    if (name === 'embeddings.position_ids' || name.startsWith('pooler.') || name.startsWith('cls.')) continue;
    name = name.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
    if (out.has(name)) throw new WeightsError(`BERT checkpoint holds "${name}" twice (once as "${original}")`);
    out.set(name, t);
  }
  return out;
}

/** Options of `writeHfFolder`. */
export interface WriteHfFolderOptions {
  /** Split into shards of at most this many data bytes (a larger tensor gets a shard of its own) plus an index. */
  shardBytes?: number;
  /** File dtype of float tensors (default F32). */
  dtype?: SafetensorsWriteOptions['dtype'];
}

/** Writes `config.json` and the weights as a HF model folder (single file, or shards + index). */
export async function writeHfFolder(
  dir: string,
  config: object,
  tensors: Map<string, HostTensor>,
  options: WriteHfFolderOptions = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, CONFIG), `${JSON.stringify(config, null, 2)}\n`);
  const write = { metadata: HF_METADATA, ...(options.dtype ? { dtype: options.dtype } : {}) };
  if (options.shardBytes === undefined) {
    await writeSafetensors(join(dir, SINGLE), tensors, write);
    return;
  }
  const shards = planShards(tensors, options.shardBytes, write.dtype);
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (let i = 0; i < shards.length; i++) {
    const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    const names = shards[i]!;
    await writeSafetensors(join(dir, file), new Map(names.map((name) => [name, tensors.get(name)!])), write);
    for (const name of names) {
      weightMap[name] = file;
      totalSize += storedByteLength(name, tensors.get(name)!, write.dtype);
    }
  }
  const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
  await writeFile(join(dir, INDEX), `${JSON.stringify(index, null, 2)}\n`);
}

/** Greedy shard plan over sorted names, by stored size. */
function planShards(tensors: Map<string, HostTensor>, shardBytes: number, dtype: SafetensorsWriteOptions['dtype']): string[][] {
  const shards: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const name of [...tensors.keys()].sort()) {
    const bytes = storedByteLength(name, tensors.get(name)!, dtype);
    if (current.length > 0 && size + bytes > shardBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(name);
    size += bytes;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

/** Whether a file or folder exists (and is accessible). */
export async function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------------------------------------
// Typed configs

/** What our Qwen2 decoder reads from `config.json`. */
export interface Qwen2Config {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  rope_theta: number;
  rms_norm_eps: number;
  vocab_size: number;
  tie_word_embeddings: boolean;
  max_position_embeddings: number;
  head_dim: number;
}

/** What our BERT encoder reads from `config.json`. */
export interface BertConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  vocab_size: number;
  layer_norm_eps: number;
  hidden_act: 'gelu';
  pad_token_id: number;
}

/**
 * Validated Qwen2 config. Defaults follow transformers' Qwen2Config where HF files may omit a key.
 * Reads `rope_theta` from the top level (transformers 4.x) or `rope_parameters` (5.x). Rejects
 * what the decoder does not implement: sliding windows, RoPE scaling, other activations/models.
 */
export function parseQwen2Config(json: unknown, source: string): Qwen2Config {
  const c = new ConfigReader(json, source);
  c.expectOneOf('model_type', ['qwen2'], 'this loader implements Qwen2 (Qwen2/Qwen2.5 checkpoints)');
  c.expectOneOf('hidden_act', ['silu'], 'Qwen2 uses SwiGLU with silu');
  if (c.raw('use_sliding_window') === true) c.reject('use_sliding_window', 'sliding-window attention is not implemented; set it to false');
  const layerTypes = c.raw('layer_types');
  if (Array.isArray(layerTypes) && layerTypes.some((t) => t !== 'full_attention')) {
    c.reject('layer_types', 'only "full_attention" layers are implemented');
  }
  const rope = c.raw('rope_parameters') ?? c.raw('rope_scaling');
  const ropeType = isObject(rope) ? (rope.rope_type ?? rope.type ?? 'default') : 'default';
  if (ropeType !== 'default') c.reject(c.raw('rope_parameters') ? 'rope_parameters' : 'rope_scaling', `RoPE type ${JSON.stringify(ropeType)} is not implemented (only "default")`);
  const ropeTheta = c.raw('rope_theta') ?? (isObject(rope) ? rope.rope_theta : undefined) ?? 10000;
  if (typeof ropeTheta !== 'number' || !(ropeTheta > 0)) c.reject('rope_theta', `must be a positive number, got ${JSON.stringify(ropeTheta)}`);

  const hidden = c.int('hidden_size');
  const heads = c.int('num_attention_heads');
  const kvHeads = c.int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) c.reject('num_key_value_heads', `${kvHeads} does not divide num_attention_heads ${heads}`);
  const headDim = c.int('head_dim', hidden % heads === 0 ? hidden / heads : undefined);
  return {
    hidden_size: hidden,
    intermediate_size: c.int('intermediate_size'),
    num_hidden_layers: c.int('num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    rope_theta: ropeTheta as number,
    rms_norm_eps: c.positive('rms_norm_eps', 1e-6),
    vocab_size: c.int('vocab_size'),
    tie_word_embeddings: c.bool('tie_word_embeddings', false),
    max_position_embeddings: c.int('max_position_embeddings', 32768),
    head_dim: headDim,
  };
}

/** Validated BERT config (BertModel, absolute positions, exact GELU, post-LN). */
export function parseBertConfig(json: unknown, source: string): BertConfig {
  const c = new ConfigReader(json, source);
  c.expectOneOf('model_type', ['bert'], 'this loader implements BertModel (e.g. gte-base)');
  c.expectOneOf('hidden_act', ['gelu'], 'the encoder implements exact (erf) GELU only');
  c.expectOneOf('position_embedding_type', ['absolute'], 'only absolute position embeddings are implemented');
  if (c.raw('is_decoder') === true) c.reject('is_decoder', 'a decoder BERT is not supported; use an encoder checkpoint');
  if (c.raw('add_cross_attention') === true) c.reject('add_cross_attention', 'cross-attention is not supported');
  const hidden = c.int('hidden_size');
  const heads = c.int('num_attention_heads');
  if (hidden % heads !== 0) c.reject('num_attention_heads', `${heads} does not divide hidden_size ${hidden}`);
  return {
    hidden_size: hidden,
    num_hidden_layers: c.int('num_hidden_layers'),
    num_attention_heads: heads,
    intermediate_size: c.int('intermediate_size'),
    max_position_embeddings: c.int('max_position_embeddings', 512),
    type_vocab_size: c.int('type_vocab_size', 2),
    vocab_size: c.int('vocab_size'),
    layer_norm_eps: c.positive('layer_norm_eps', 1e-12),
    hidden_act: 'gelu',
    pad_token_id: c.count('pad_token_id', 0),
  };
}

/**
 * Parameters of a Qwen2 model computed from its config, without allocating: embedding, per layer
 * q/k/v (with bias) and o (no bias), SwiGLU MLP, two RMSNorms; final norm; lm_head unless tied.
 */
export function qwen2ParamCount(cfg: Qwen2Config): number {
  const h = cfg.hidden_size;
  const qDim = cfg.num_attention_heads * cfg.head_dim;
  const kvDim = cfg.num_key_value_heads * cfg.head_dim;
  const attention = h * qDim + qDim + 2 * (h * kvDim + kvDim) + qDim * h;
  const mlp = 3 * h * cfg.intermediate_size;
  const layer = attention + mlp + 2 * h;
  const embedding = cfg.vocab_size * h;
  return embedding + cfg.num_hidden_layers * layer + h + (cfg.tie_word_embeddings ? 0 : embedding);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads typed keys of one config object; every error names the file and the key. */
class ConfigReader {
  private readonly json: Record<string, unknown>;
  constructor(
    json: unknown,
    private readonly source: string,
  ) {
    if (!isObject(json)) throw new WeightsError(`${source}: the model config is not a JSON object`);
    this.json = json;
  }

  reject(key: string, why: string): never {
    throw new WeightsError(`${this.source}: "${key}": ${why}`);
  }

  /** The value of `key`, with JSON null read as absent. */
  raw(key: string): unknown {
    return this.json[key] ?? undefined;
  }

  expectOneOf(key: string, allowed: string[], why: string): void {
    const v = this.raw(key);
    if (v !== undefined && !allowed.includes(v as string)) this.reject(key, `${JSON.stringify(v)} is not supported: ${why}`);
  }

  private value<T>(key: string, fallback: T | undefined, ok: (v: unknown) => boolean, expected: string): T {
    const v = this.raw(key) ?? fallback;
    if (v === undefined) this.reject(key, `is missing; it must be ${expected}`);
    if (!ok(v)) this.reject(key, `must be ${expected}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  int(key: string, fallback?: number): number {
    return this.value(key, fallback, (v) => Number.isSafeInteger(v) && (v as number) > 0, 'a positive integer');
  }

  count(key: string, fallback?: number): number {
    return this.value(key, fallback, (v) => Number.isSafeInteger(v) && (v as number) >= 0, 'a non-negative integer');
  }

  positive(key: string, fallback?: number): number {
    return this.value(key, fallback, (v) => typeof v === 'number' && v > 0, 'a positive number');
  }

  bool(key: string, fallback?: boolean): boolean {
    return this.value(key, fallback, (v) => typeof v === 'boolean', 'true or false');
  }
}
