/**
 * @module train/memory-estimate
 * How much memory one training process needs, from the model's dimensions and the batch alone
 * (no tensor is built): a pure function, so the preflight (src/train/preflight.ts) can refuse a
 * configuration that cannot fit in well under a second, before minutes of building. An estimate
 * of what this trainer holds, term by term, in float32 (the only dtype tfjs trains in here):
 *
 * - weights: every parameter, frozen and trainable (BF16 checkpoints are upcast on load); a
 *   Hugging Face model also holds its decoded host copy while the tensors are made; and a step
 *   holds BACKWARD_WEIGHT_COPIES more (the backward pass's transposed kernels and the input
 *   gradients made with them; tfjs-wasm's heap keeps its high-water mark);
 * - trainable state per trainable parameter: value, gradient, AdamW m and v (4 floats), one
 *   gradient term per micro-batch this process holds (they are summed together), and the sum's
 *   buffers: a float64 accumulator and the all-reduce vector, which the exact fixed-point sum
 *   (train.exact_sum) carries as three limbs each way (see `trainableFloats`);
 * - activations of one micro-batch kept for the backward pass, per decoder layer and token:
 *   10·H (norm inputs/outputs, q, k, v, rotated q and k, attention output, residuals) + 4·I
 *   (gate, up, silu(gate), their product) + 2·heads·s (attention scores and probabilities),
 *   times TAPE_FACTOR for the copies tfjs's tape keeps (transposes, reshapes, the temporaries of
 *   the backward); both sequences of a sample count (prompt + answer, and the answer pass);
 * - LM logits of the answer tokens: logits, softmax and their gradient over the vocabulary;
 * - the frozen encoder's forward (outside the tape: one layer live at a time);
 * - a fixed process overhead (Node, tfjs and its wasm runtime: a tiny run's RSS is ~160 MiB).
 *
 * The two factors are measured (wasm backend, decoder 1024 wide × 8 layers, 92 M parameters;
 * peak RSS by `/usr/bin/time -f %M node bin/instructue.js train --config configs/tiny.json
 * --backend wasm --set model.decoder.hidden=1024 --set model.decoder.layers=8 --set
 * model.decoder.intermediate=2816 --set model.decoder.heads=16 --set model.decoder.kv_heads=4`
 * with `--steps 0`, and `--steps 1` at `train.micro_batch` 2 and 4): building took 537 MiB
 * (351 MiB of weights), a step 2180 MiB more at micro-batch 2 and 3190 MiB at 4. The slope,
 * 505 MiB per sample, is 4.7× the activations named above; the rest, 1170 MiB, is 3.3× the
 * weights. Both are rounded up, so the estimate errs on the side of refusing.
 */
import type { BertDims } from '../model/bert.js';
import type { Qwen2Dims } from '../model/qwen2.js';

/** Bytes of one float32. */
const F32 = 4;
/**
 * Floats per trainable parameter: value, gradient, AdamW m and v; `terms` micro-batch gradients;
 * the float64 accumulator (2) and the all-reduce vector and its result (2, or 3 limbs each = 6
 * with the exact sum).
 */
export function trainableFloats(terms: number, exactSum: boolean): number {
  return 4 + terms + 2 + (exactSum ? 6 : 2);
}
/** What tfjs keeps per activation named above, measured 4.7× (module comment). */
export const TAPE_FACTOR = 5;
/** Weight-sized copies a step holds beyond the weights, measured 3.3× (module comment). */
export const BACKWARD_WEIGHT_COPIES = 3.5;
/** Node + tfjs + wasm runtime of one process. */
export const PROCESS_OVERHEAD_BYTES = 256 * 2 ** 20;

/** The decoder dimensions the estimate reads (`vocab`: embedding rows, tied with the LM head). */
export type DecoderShape = Pick<Qwen2Dims, 'hidden' | 'layers' | 'heads' | 'kvHeads' | 'headSize' | 'intermediate' | 'vocab'>;

/** The encoder dimensions the estimate reads. */
export type EncoderShape = Omit<BertDims, 'layerNormEps'>;

export interface ModelShape {
  decoder: DecoderShape;
  /** null: text-only ablation (no encoder, no source adapters). */
  encoder: EncoderShape | null;
  lora: { r: number; targets: readonly string[] };
  specialTokens: number;
  /** Source adapters (encoder width → decoder width): 4 with use_sequences, else 0. */
  sourceAdapters: number;
  /** Width of the tabular adapter's input, 0 without use_tabular. */
  tabularDim: number;
  /** Weights are read from a Hugging Face folder (a host copy exists while loading). */
  fromHf: boolean;
}

export interface BatchShape {
  /** Samples of one micro-batch (what one forward/backward holds: train.micro_batch). */
  microBatch: number;
  /** Micro-batch gradient terms one process holds in a step (its share of the global batch). */
  gradientTerms: number;
  exactSum: boolean;
  /** Decoder tokens of a sample's prompt + answer sequence. */
  sequenceTokens: number;
  /** Tokens of the answer-embedding sequence (answer + <ANSWER>). */
  answerTokens: number;
  /** Encoder inputs per sample (records over all sources) and tokens each. */
  recordsPerSample: number;
  recordTokens: number;
}

export interface ParameterCounts {
  /** Decoder blocks (attention, MLP, norms) and the final norm, LoRA excluded. */
  decoderLayers: number;
  /** The decoder's token embedding (tied LM head). */
  embeddings: number;
  encoder: number;
  /** LoRA, adapters and the special-token rows. */
  trainable: number;
  total: number;
}

export interface MemoryEstimate {
  parameters: ParameterCounts;
  /** Bytes per term; `total` is one process. */
  bytes: { weights: number; loading: number; backward: number; trainableState: number; activations: number; logits: number; encoder: number; overhead: number; total: number };
}

const LORA_SHAPES: Record<string, (d: DecoderShape) => [number, number]> = {
  q_proj: (d) => [d.hidden, d.heads * d.headSize],
  k_proj: (d) => [d.hidden, d.kvHeads * d.headSize],
  v_proj: (d) => [d.hidden, d.kvHeads * d.headSize],
  o_proj: (d) => [d.heads * d.headSize, d.hidden],
  gate_proj: (d) => [d.hidden, d.intermediate],
  up_proj: (d) => [d.hidden, d.intermediate],
  down_proj: (d) => [d.intermediate, d.hidden],
};

/** Parameter counts of the model `shape` describes (as src/model/build.ts builds it). */
export function countParameters(shape: ModelShape): ParameterCounts {
  const d = shape.decoder;
  const q = d.heads * d.headSize;
  const kv = d.kvHeads * d.headSize;
  const block = 2 * d.hidden + (d.hidden * q + q) + 2 * (d.hidden * kv + kv) + q * d.hidden + 3 * d.hidden * d.intermediate;
  const decoderLayers = d.layers * block + d.hidden;
  const embeddings = d.vocab * d.hidden;
  const e = shape.encoder;
  const encoder = e
    ? e.vocab * e.hidden + e.maxPositions * e.hidden + e.typeVocab * e.hidden + 2 * e.hidden
      + e.layers * (4 * (e.hidden * e.hidden + e.hidden) + 2 * e.hidden * e.intermediate + e.intermediate + e.hidden + 4 * e.hidden)
    : 0;
  const lora = d.layers * shape.lora.targets.reduce((n, t) => {
    const [inputs, outputs] = LORA_SHAPES[t]!(d);
    return n + shape.lora.r * (inputs + outputs);
  }, 0);
  const adapters = (e ? shape.sourceAdapters * (e.hidden * d.hidden + d.hidden) : 0) + (e && shape.tabularDim > 0 ? shape.tabularDim * d.hidden + d.hidden : 0);
  const trainable = lora + adapters + shape.specialTokens * d.hidden;
  return { decoderLayers, embeddings, encoder, trainable, total: decoderLayers + embeddings + encoder + trainable };
}

/**
 * The memory of one training process for `model` stepping on `batch`; `onDevice`: weights and
 * activations live in accelerator memory (webgpu, cuda), so only what the host keeps counts.
 */
export function estimateMemory(model: ModelShape, batch: BatchShape, onDevice = false): MemoryEstimate {
  const parameters = countParameters(model);
  const d = model.decoder;
  const b = batch.microBatch;
  const perToken = (s: number) => 10 * d.hidden + 4 * d.intermediate + 2 * d.heads * s;
  const sequences = [batch.sequenceTokens, batch.answerTokens];
  const activations = TAPE_FACTOR * F32 * d.layers * b * sequences.reduce((n, s) => n + s * perToken(s), 0);
  const logits = 3 * F32 * b * batch.answerTokens * d.vocab;
  const e = model.encoder;
  const encoder = e ? F32 * b * batch.recordsPerSample * batch.recordTokens * (10 * e.hidden + 2 * e.intermediate + 2 * e.heads * batch.recordTokens) : 0;
  const weights = F32 * parameters.total;
  const bytes = {
    weights: onDevice ? 0 : weights,
    loading: model.fromHf ? weights : 0,
    backward: onDevice ? 0 : BACKWARD_WEIGHT_COPIES * weights,
    trainableState: trainableFloats(batch.gradientTerms, batch.exactSum) * F32 * parameters.trainable,
    activations: onDevice ? 0 : activations,
    logits: onDevice ? 0 : logits,
    encoder: onDevice ? 0 : encoder,
    overhead: PROCESS_OVERHEAD_BYTES,
    total: 0,
  };
  bytes.total = bytes.weights + bytes.loading + bytes.backward + bytes.trainableState + bytes.activations + bytes.logits + bytes.encoder + bytes.overhead;
  return { parameters, bytes };
}
