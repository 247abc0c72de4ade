/**
 * @module model/build-backbones
 * Assembles the Qwen2 decoder and the BERT encoder from a weight source (HF state dict or random
 * init), with HF's tensor names, and attaches LoRA to the decoder's target modules.
 */
import type { BertDims, BertWeights } from './bert.js';
import { BertEncoder } from './bert.js';
import type { Qwen2Dims, Qwen2Layer } from './qwen2.js';
import { Qwen2Decoder } from './qwen2.js';
import type { LoraSpec, WeightReader } from './weight-source.js';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

/**
 * The Qwen2 decoder; `loraTargets` names the projections that get LoRA (none when empty). The
 * projections into the residual stream (o_proj, down_proj) take the reader's residual std at
 * random init (GPT-2's depth scaling when configured).
 */
export function buildQwen2(dims: Qwen2Dims, reader: WeightReader, loraTargets: readonly string[], loraSpec?: LoraSpec): Qwen2Decoder {
  const { hidden: d, heads, kvHeads, headSize: e, intermediate: f } = dims;
  const lora = (module: string) => (loraSpec && loraTargets.includes(module) ? loraSpec : undefined);
  const residual = reader.residualStd;
  const layers: Qwen2Layer[] = [];
  for (let i = 0; i < dims.layers; i++) {
    const p = `model.layers.${i}`;
    layers.push({
      inputNorm_D: reader.tensor(`${p}.input_layernorm.weight`, [d], 'ones'),
      q: reader.linear(`${p}.self_attn.q_proj`, d, heads * e, true, lora('q_proj')),
      k: reader.linear(`${p}.self_attn.k_proj`, d, kvHeads * e, true, lora('k_proj')),
      v: reader.linear(`${p}.self_attn.v_proj`, d, kvHeads * e, true, lora('v_proj')),
      o: reader.linear(`${p}.self_attn.o_proj`, heads * e, d, false, lora('o_proj'), residual),
      postNorm_D: reader.tensor(`${p}.post_attention_layernorm.weight`, [d], 'ones'),
      gate: reader.linear(`${p}.mlp.gate_proj`, d, f, false, lora('gate_proj')),
      up: reader.linear(`${p}.mlp.up_proj`, d, f, false, lora('up_proj')),
      down: reader.linear(`${p}.mlp.down_proj`, f, d, false, lora('down_proj'), residual),
    });
  }
  return new Qwen2Decoder(dims, {
    embed_VD: reader.tensor('model.embed_tokens.weight', [dims.vocab, d], 'normal'),
    layers,
    finalNorm_D: reader.tensor('model.norm.weight', [d], 'ones'),
  });
}

/** The BERT encoder (names without the `bert.` prefix; see hf-folder normalizeBertNames). */
export function buildBert(dims: BertDims, reader: WeightReader): BertEncoder {
  const { hidden: c, intermediate: f } = dims;
  const norm = (prefix: string) => ({
    weight_C: reader.tensor(`${prefix}.weight`, [c], 'ones'),
    bias_C: reader.tensor(`${prefix}.bias`, [c], 'zeros'),
  });
  const weights: BertWeights = {
    wordEmbed_VC: reader.tensor('embeddings.word_embeddings.weight', [dims.vocab, c], 'normal'),
    positionEmbed_PC: reader.tensor('embeddings.position_embeddings.weight', [dims.maxPositions, c], 'normal'),
    typeEmbed_YC: reader.tensor('embeddings.token_type_embeddings.weight', [dims.typeVocab, c], 'normal'),
    embedNorm: norm('embeddings.LayerNorm'),
    layers: [],
  };
  for (let i = 0; i < dims.layers; i++) {
    const p = `encoder.layer.${i}`;
    weights.layers.push({
      query: reader.linear(`${p}.attention.self.query`, c, c, true),
      key: reader.linear(`${p}.attention.self.key`, c, c, true),
      value: reader.linear(`${p}.attention.self.value`, c, c, true),
      attnOut: reader.linear(`${p}.attention.output.dense`, c, c, true),
      attnNorm: norm(`${p}.attention.output.LayerNorm`),
      intermediate: reader.linear(`${p}.intermediate.dense`, c, f, true),
      output: reader.linear(`${p}.output.dense`, f, c, true),
      outNorm: norm(`${p}.output.LayerNorm`),
    });
  }
  return new BertEncoder(dims, weights);
}
