/**
 * Tiny Hugging Face checkpoints and tokenizers written by tests: tensor name/shape lists of Qwen2
 * and BERT as transformers saves them (method-notes §1.3, §2), deterministic fills, a byte-level
 * BPE tokenizer in Qwen2's tokenizer.json format and a BERT WordPiece folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BertConfig, Qwen2Config } from '../../src/weights/hf-folder.js';
import type { HostTensor } from '../../src/weights/safetensors.js';

/** HF tensor names and shapes of a Qwen2ForCausalLM checkpoint (no lm_head when tied). */
export function qwen2TensorShapes(cfg: Qwen2Config): Map<string, number[]> {
  const h = cfg.hidden_size;
  const q = cfg.num_attention_heads * cfg.head_dim;
  const kv = cfg.num_key_value_heads * cfg.head_dim;
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [cfg.vocab_size, h]]]);
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    shapes.set(`${p}.self_attn.q_proj.weight`, [q, h]).set(`${p}.self_attn.q_proj.bias`, [q]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [kv, h]).set(`${p}.self_attn.k_proj.bias`, [kv]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [kv, h]).set(`${p}.self_attn.v_proj.bias`, [kv]);
    shapes.set(`${p}.self_attn.o_proj.weight`, [h, q]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [cfg.intermediate_size, h]);
    shapes.set(`${p}.mlp.up_proj.weight`, [cfg.intermediate_size, h]);
    shapes.set(`${p}.mlp.down_proj.weight`, [h, cfg.intermediate_size]);
    shapes.set(`${p}.input_layernorm.weight`, [h]).set(`${p}.post_attention_layernorm.weight`, [h]);
  }
  shapes.set('model.norm.weight', [h]);
  if (!cfg.tie_word_embeddings) shapes.set('lm_head.weight', [cfg.vocab_size, h]);
  return shapes;
}

/** HF tensor names and shapes of a BertModel checkpoint (without pooler). */
export function bertTensorShapes(cfg: BertConfig): Map<string, number[]> {
  const c = cfg.hidden_size;
  const f = cfg.intermediate_size;
  const shapes = new Map<string, number[]>([
    ['embeddings.word_embeddings.weight', [cfg.vocab_size, c]],
    ['embeddings.position_embeddings.weight', [cfg.max_position_embeddings, c]],
    ['embeddings.token_type_embeddings.weight', [cfg.type_vocab_size, c]],
    ['embeddings.LayerNorm.weight', [c]],
    ['embeddings.LayerNorm.bias', [c]],
  ]);
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `encoder.layer.${i}`;
    for (const m of ['query', 'key', 'value']) shapes.set(`${p}.attention.self.${m}.weight`, [c, c]).set(`${p}.attention.self.${m}.bias`, [c]);
    shapes.set(`${p}.attention.output.dense.weight`, [c, c]).set(`${p}.attention.output.dense.bias`, [c]);
    shapes.set(`${p}.attention.output.LayerNorm.weight`, [c]).set(`${p}.attention.output.LayerNorm.bias`, [c]);
    shapes.set(`${p}.intermediate.dense.weight`, [f, c]).set(`${p}.intermediate.dense.bias`, [f]);
    shapes.set(`${p}.output.dense.weight`, [c, f]).set(`${p}.output.dense.bias`, [c]);
    shapes.set(`${p}.output.LayerNorm.weight`, [c]).set(`${p}.output.LayerNorm.bias`, [c]);
  }
  return shapes;
}

/** float32 tensors of the given shapes, filled from a seeded LCG in [-1, 1). */
export function seededTensors(shapes: Map<string, number[]>, seed: number): Map<string, HostTensor> {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
  const out = new Map<string, HostTensor>();
  for (const [name, shape] of shapes) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = next();
    out.set(name, { dtype: 'float32', shape, data });
  }
  return out;
}

/** GPT-2's byte → printable character map; its order (printable bytes first) gives the base ids. */
export function byteLevelAlphabet(): { byteToChar: string[]; order: number[] } {
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  const byteToChar: string[] = [];
  for (const b of order) byteToChar[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (byteToChar[b] === undefined) {
      order.push(b);
      byteToChar[b] = String.fromCharCode(256 + n++);
    }
  }
  return { byteToChar, order };
}

/** Qwen2's pre-tokenizer split (tokenizer.json of Qwen2/Qwen2.5). */
export const QWEN2_SPLIT_REGEX = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

/** Merges of the tiny BPE, in rank order; merge k creates id 256 + k. */
export const TINY_BPE_MERGES = ['H e', 'l l', 'He ll', 'Hell o', 'Ġ w', 'o r', 'Ġw or', 'l d', 'Ġwor ld', 'Ġ Ġ', "' S"];
export const TINY_BPE_ADDED = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

/** A byte-level BPE tokenizer.json in Qwen2's format: 256 byte symbols, the merges above, added tokens. */
export function tinyBpeTokenizerJson(): object {
  const { byteToChar, order } = byteLevelAlphabet();
  const vocab: Record<string, number> = {};
  order.forEach((b, id) => (vocab[byteToChar[b]!] = id));
  TINY_BPE_MERGES.forEach((m, k) => (vocab[m.replace(' ', '')] = 256 + k));
  const firstAdded = 256 + TINY_BPE_MERGES.length;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: TINY_BPE_ADDED.map((content, i) => ({
      id: firstAdded + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_REGEX }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: TINY_BPE_MERGES,
    },
  };
}

/** tokenizer_config.json as Qwen2.5 ships it (reduced to the tiny added tokens). */
export const TINY_BPE_CONFIG = {
  add_prefix_space: false,
  additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
  bos_token: null,
  clean_up_tokenization_spaces: false,
  eos_token: '<|im_end|>',
  errors: 'replace',
  model_max_length: 131072,
  pad_token: '<|endoftext|>',
  split_special_tokens: false,
  tokenizer_class: 'Qwen2Tokenizer',
  unk_token: null,
};

/** A BERT-like WordPiece vocabulary whose special ids differ from the tiny preset's. */
export const TINY_BERT_VOCAB = ['[PAD]', '[unused0]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', ',', 'the', 'bill', '##s', 'paid', 'cafe', 'taxi', 'un', '##paid'];

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Writes tokenizer files into `dir` (created): tokenizer.json and/or vocab.txt, optional config. */
export async function writeTokenizerFolder(dir: string, files: { tokenizer?: object; config?: object; vocabTxt?: string[] }): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (files.tokenizer) await writeJson(join(dir, 'tokenizer.json'), files.tokenizer);
  if (files.config) await writeJson(join(dir, 'tokenizer_config.json'), files.config);
  if (files.vocabTxt) await writeFile(join(dir, 'vocab.txt'), `${files.vocabTxt.join('\n')}\n`);
}
