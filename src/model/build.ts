/**
 * @module model/build
 * Builds an InstructUE model and its tokenizers from the frozen config: reads Hugging Face
 * folders when `hf_dir` is set (Qwen2.5 + gte in the paper preset), or builds the tiny preset
 * at random from the config's dims with a built-in WordPiece vocabulary (no outside files).
 * Also initialises the trainable inputs: special-token rows (mean embedding + noise, since the
 * reused Qwen2.5 rows 151665+ are untrained padding) and the adapters.
 */
import { tf } from '../backend/tf.js';
import type { Frozen } from '../config/load.js';
import type { ModelConfig } from '../config/schema.js';
import { PREAMBLE } from '../data/render-templates.js';
import type { TabularSchema } from '../data/tabular.js';
import { SOURCE_NAMES, type SourceName } from '../data/types.js';
import { WeightsError } from '../errors.js';
import type { Logger } from '../log.js';
import { Rng } from '../util/rng.js';
import type { BertDims } from './bert.js';
import { buildBert, buildQwen2 } from './build-backbones.js';
import { normalizeBertNames, parseBertConfig, parseQwen2Config, readHfConfig, readHfWeights } from '../weights/hf-folder.js';
import { loadEncoderTokenizer, loadTextTokenizer } from '../tokenizers/hf-tokenizer.js';
import { InstructUE } from './instructue.js';
import type { Linear } from './layers.js';
import { ParameterStore } from './parameters.js';
import type { Qwen2Dims } from './qwen2.js';
import { SPECIAL_TOKENS, specialIndex } from './special-tokens.js';
import type { EncoderTokenizer, TextTokenizer } from '../tokenizers/tokenizer.js';
import { WeightReader, type WeightSource } from './weight-source.js';
import { tinyEncoderTokenizer, tinyTextTokenizer } from '../tokenizers/wordpiece-vocab.js';

export interface BuiltModel {
  model: InstructUE;
  decoderTokenizer: TextTokenizer;
  encoderTokenizer: EncoderTokenizer;
  /** Decoder id of SPECIAL_TOKENS[0]; the others follow. */
  firstSpecialId: number;
}

export interface BuildOptions {
  seed: number;
  tabularSchema: TabularSchema;
  /** Words of the built-in WordPiece vocabulary, used where no tokenizer folder is configured (the tiny preset). */
  vocabulary: readonly string[];
  log: Logger;
}

/** Rounds the tiny vocabulary up so the embedding has room for the special tokens. */
function tinyVocabRows(tokenizerSize: number): number {
  return Math.ceil((tokenizerSize + SPECIAL_TOKENS.length) / 64) * 64;
}

/** Dims and weights of a Hugging Face Qwen2 folder (tied embeddings only). */
export async function readQwen2Folder(dir: string, maxPositions = Infinity): Promise<{ dims: Qwen2Dims; source: WeightSource; eos: number | undefined }> {
  const json = await readHfConfig(dir);
  const hf = parseQwen2Config(json, `${dir}/config.json`);
  if (!hf.tie_word_embeddings) throw new WeightsError(`${dir}/config.json: tie_word_embeddings is false; instructue supports tied Qwen2 embeddings (Qwen2.5-0.5B/1.5B) only`);
  const dims: Qwen2Dims = {
    hidden: hf.hidden_size, layers: hf.num_hidden_layers, heads: hf.num_attention_heads, kvHeads: hf.num_key_value_heads,
    headSize: hf.head_dim, intermediate: hf.intermediate_size, vocab: hf.vocab_size, ropeTheta: hf.rope_theta,
    rmsEps: hf.rms_norm_eps, maxPositions: Math.min(maxPositions, hf.max_position_embeddings),
  };
  const eos = typeof json.eos_token_id === 'number' ? json.eos_token_id : undefined;
  return { dims, source: { kind: 'hf', tensors: await readHfWeights(dir), file: dir }, eos };
}

/** Dims and weights of a Hugging Face BERT folder (e.g. gte-base). */
export async function readBertFolder(dir: string): Promise<{ dims: BertDims; source: WeightSource }> {
  const hf = parseBertConfig(await readHfConfig(dir), `${dir}/config.json`);
  const dims: BertDims = {
    hidden: hf.hidden_size, layers: hf.num_hidden_layers, heads: hf.num_attention_heads, intermediate: hf.intermediate_size,
    vocab: hf.vocab_size, maxPositions: hf.max_position_embeddings, typeVocab: hf.type_vocab_size, layerNormEps: hf.layer_norm_eps,
  };
  return { dims, source: { kind: 'hf', tensors: normalizeBertNames(await readHfWeights(dir)), file: dir } };
}

async function decoderPart(cfg: Frozen<ModelConfig>, seed: number, tokenizer: TextTokenizer) {
  const d = cfg.decoder;
  if (!d.hf_dir) {
    const dims: Qwen2Dims = {
      hidden: d.hidden, layers: d.layers, heads: d.heads, kvHeads: d.kv_heads, headSize: d.hidden / d.heads,
      intermediate: d.intermediate, vocab: tinyVocabRows(tokenizer.vocabSize), ropeTheta: d.rope_theta, rmsEps: d.rms_eps,
      maxPositions: d.max_positions,
    };
    // GPT-2's depth scaling: each of the 2·layers residual branches starts at 1/sqrt(2·layers) of
    // the others' scale, so the random blocks add up to about one branch instead of overwriting
    // what the inputs carry.
    const residualStd = cfg.residual_init === 'depth_scaled' ? cfg.init_std / Math.sqrt(2 * d.layers) : undefined;
    return { dims, source: { kind: 'random', seed: `${seed}/decoder`, std: cfg.init_std, residualStd } as WeightSource, eos: undefined as number | undefined };
  }
  return readQwen2Folder(d.hf_dir, d.max_positions);
}

async function encoderPart(cfg: Frozen<ModelConfig>, seed: number, tokenizer: EncoderTokenizer) {
  const e = cfg.encoder;
  if (!e.hf_dir) {
    const dims: BertDims = {
      hidden: e.hidden, layers: e.layers, heads: e.heads, intermediate: e.intermediate, vocab: tokenizer.vocabSize,
      maxPositions: Math.max(e.max_len, 64), typeVocab: 2, layerNormEps: e.layer_norm_eps,
    };
    return { dims, source: { kind: 'random', seed: `${seed}/encoder`, std: cfg.init_std } as WeightSource };
  }
  return readBertFolder(e.hf_dir);
}

/**
 * Mean and std of the first `rows` embedding rows (the tokenizer's real vocabulary), computed on
 * the host from the weights as loaded (still host-resident here on every backend, webgpu
 * included, which cannot run a kernel and read its result synchronously). The arithmetic is
 * tfjs's (cpu backend): float32 values, sums accumulated in double then rounded, the population
 * variance of tf.moments.
 */
function embeddingStats(embed_VD: tf.Tensor, rows: number): { mean_D: Float32Array; std: number } {
  const d = embed_VD.shape[1]!;
  const n = Math.min(rows, embed_VD.shape[0]!);
  const x = (embed_VD.dataSync() as Float32Array).subarray(0, n * d);
  const f = Math.fround;
  const colSum = new Float64Array(d);
  let total = 0;
  for (let i = 0; i < n * d; i++) {
    colSum[i % d] += x[i]!;
    total += x[i]!;
  }
  const mean_D = Float32Array.from(colSum, (s) => f(f(s) / n));
  const mean = f(f(total) / (n * d));
  let squares = 0;
  for (let i = 0; i < n * d; i++) {
    const diff = f(x[i]! - mean);
    squares += f(diff * diff);
  }
  return { mean_D, std: f(Math.sqrt(f(f(squares) / (n * d)))) };
}

function trainableLinear(store: ParameterStore, name: string, inputs: number, outputs: number, std: number, rng: Rng): Linear {
  return {
    kernel_IO: store.trainable(`${name}.weight`, tf.tensor2d(rng.normalArray(inputs * outputs, std), [inputs, outputs])),
    bias_O: store.trainable(`${name}.bias`, tf.zeros([outputs])),
  };
}

/** Everything `assembleInstructUE` needs besides weights: facts from the tokenizers and config. */
export interface AssembleOptions {
  seed: number;
  decoderDims: Qwen2Dims;
  decoderSource: WeightSource;
  /** null = text-only ablation (no encoder, no source adapters). */
  encoder: { dims: BertDims; source: WeightSource } | null;
  lora: { r: number; alpha: number; useRslora: boolean; dropout: number; targets: readonly string[] };
  /** Ids the tokenizer itself uses; special-token rows start here. */
  tokenizerVocab: number;
  useSequences: boolean;
  useTabular: boolean;
  tabularFeatures: number;
  tabularDim: number;
  pooling: 'user_token' | 'mean';
  preambleIds: number[];
  instructionPrefixIds: number[];
  eosId: number;
  padId: number;
  encoderPadId: number;
  /** lora (default): LoRA on `lora.targets`, base frozen; full: every decoder weight trains, no LoRA. */
  finetune?: 'lora' | 'full';
  /** Every encoder weight trains (default false: frozen). */
  trainEncoder?: boolean;
  /** Where the next-token loss starts (default 'user': <USER> predicts answer[0]). */
  lmStart?: 'user' | 'answer';
}

/** Builds the model from weight sources; used by `buildModel` and directly by tests. */
export function assembleInstructUE(o: AssembleOptions): InstructUE {
  if (o.tokenizerVocab + SPECIAL_TOKENS.length > o.decoderDims.vocab) {
    throw new WeightsError(`the decoder embedding has ${o.decoderDims.vocab} rows but the tokenizer uses ${o.tokenizerVocab} ids and InstructUE needs ${SPECIAL_TOKENS.length} more; use a checkpoint with padded embeddings (Qwen2.5 has room)`);
  }
  const store = new ParameterStore();
  const lora = { ...o.lora, seed: `${o.seed}/lora` };
  const full = o.finetune === 'full';
  const decoder = buildQwen2(o.decoderDims, new WeightReader(o.decoderSource, store, full), full ? [] : o.lora.targets, lora);
  const trainEncoder = o.encoder !== null && (o.trainEncoder ?? false);
  const encoder = o.encoder ? buildBert(o.encoder.dims, new WeightReader(o.encoder.source, store, trainEncoder)) : null;
  const hidden = o.decoderDims.hidden;

  const stats = embeddingStats(decoder.weights.embed_VD, o.tokenizerVocab);
  const rng = new Rng(o.seed, 'instructue-inputs');
  const specialInit = new Float32Array(SPECIAL_TOKENS.length * hidden);
  for (let i = 0; i < specialInit.length; i++) specialInit[i] = stats.mean_D[i % hidden]! + stats.std * rng.normal();
  // <ANSWER> starts as a copy of <USER>: both mark "embed what came before", and equal rows make
  // u_i and a_i comparable from the first step (random distinct rows leave every u–a cosine far
  // below the same-side ones, so the false-negative mask of Eq. 4 would hide all same-side
  // negatives at first and release them as training aligns the two sides).
  specialInit.copyWithin(specialIndex('<ANSWER>') * hidden, specialIndex('<USER>') * hidden, (specialIndex('<USER>') + 1) * hidden);
  const special_SD = store.trainable('special_tokens.embedding', tf.tensor2d(specialInit, [SPECIAL_TOKENS.length, hidden]));

  // Adapter outputs start at the scale of token embeddings: std_w = std_E / sqrt(fan_in).
  const adapters: Partial<Record<SourceName | 'tabular', Linear>> = {};
  if (o.encoder && o.useSequences) {
    const c = o.encoder.dims.hidden;
    for (const source of SOURCE_NAMES) adapters[source] = trainableLinear(store, `adapters.${source}`, c, hidden, stats.std / Math.sqrt(c), rng);
  }
  if (o.encoder && o.useTabular) {
    adapters.tabular = trainableLinear(store, 'adapters.tabular', o.tabularDim, hidden, stats.std / Math.sqrt(o.tabularDim), rng);
  }
  return new InstructUE({
    decoder, encoder, store, special_SD, adapters,
    options: {
      pooling: o.pooling, textOnly: o.encoder === null, useSequences: o.useSequences, useTabular: o.useTabular,
      tabularFeatures: o.tabularFeatures, tabularDim: o.tabularDim, preambleIds: o.preambleIds,
      instructionPrefixIds: o.instructionPrefixIds, eosId: o.eosId, padId: o.padId, encoderPadId: o.encoderPadId,
      trainEncoder, lmFromUser: (o.lmStart ?? 'user') === 'user',
    },
  });
}

/** Tokenizers from HF folders (`tokenizer_dir`, else `hf_dir`), or the built-in tiny vocabulary. */
export async function loadTokenizers(cfg: Frozen<ModelConfig>, vocabulary: readonly string[]): Promise<{ decoderTokenizer: TextTokenizer; encoderTokenizer: EncoderTokenizer }> {
  const decDir = cfg.decoder.tokenizer_dir || cfg.decoder.hf_dir;
  const encDir = cfg.encoder.tokenizer_dir || cfg.encoder.hf_dir;
  return {
    decoderTokenizer: decDir ? await loadTextTokenizer(decDir) : await tinyTextTokenizer(vocabulary),
    encoderTokenizer: encDir ? await loadEncoderTokenizer(encDir) : await tinyEncoderTokenizer(vocabulary),
  };
}

export async function buildModel(cfg: Frozen<ModelConfig>, opts: BuildOptions): Promise<BuiltModel> {
  const { decoderTokenizer, encoderTokenizer } = await loadTokenizers(cfg, opts.vocabulary);
  const textOnly = cfg.input_mode === 'text_only';
  const dec = await decoderPart(cfg, opts.seed, decoderTokenizer);
  const eosId = dec.eos ?? decoderTokenizer.tokenToId('[SEP]');
  if (eosId === undefined) throw new WeightsError(`${cfg.decoder.hf_dir}/config.json: no eos_token_id, and the tokenizer has no [SEP]`);
  const model = assembleInstructUE({
    seed: opts.seed,
    decoderDims: dec.dims,
    decoderSource: dec.source,
    encoder: textOnly ? null : await encoderPart(cfg, opts.seed, encoderTokenizer),
    lora: { r: cfg.lora.r, alpha: cfg.lora.alpha, useRslora: cfg.lora.use_rslora, dropout: cfg.lora.dropout, targets: cfg.lora.targets },
    tokenizerVocab: decoderTokenizer.vocabSize,
    useSequences: cfg.use_sequences,
    useTabular: cfg.use_tabular,
    tabularFeatures: opts.tabularSchema.features.length,
    tabularDim: cfg.tabular_dim,
    pooling: cfg.pooling,
    preambleIds: cfg.preamble === 'full' ? decoderTokenizer.encode(PREAMBLE) : [],
    instructionPrefixIds: decoderTokenizer.encode('Instruction:'),
    eosId,
    padId: decoderTokenizer.tokenToId('<|endoftext|>') ?? decoderTokenizer.tokenToId('[PAD]') ?? 0,
    encoderPadId: encoderTokenizer.padId,
    finetune: cfg.finetune,
    trainEncoder: cfg.train_encoder,
    lmStart: cfg.lm_start,
  });
  opts.log.info('model built', {
    decoder: cfg.decoder.hf_dir || 'random', encoder: textOnly ? 'none (text only)' : cfg.encoder.hf_dir || 'random',
    trainable: model.store.trainableCount(), frozen: model.store.frozenCount(), vocab: dec.dims.vocab,
    firstSpecialId: decoderTokenizer.vocabSize,
  });
  return { model, decoderTokenizer, encoderTokenizer, firstSpecialId: decoderTokenizer.vocabSize };
}
