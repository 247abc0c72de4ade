import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WeightsError } from '../../src/errors.js';
import {
  normalizeBertNames,
  parseBertConfig,
  parseQwen2Config,
  qwen2ParamCount,
  readHfConfig,
  readHfWeights,
  writeHfFolder,
} from '../../src/weights/hf-folder.js';
import { writeSafetensors, type HostTensor } from '../../src/weights/safetensors.js';
import { bertTensorShapes, qwen2TensorShapes, seededTensors } from '../helpers/hf-fixtures.js';

/** config.json of Qwen2.5-0.5B-Instruct (method-notes §1.2). */
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645, hidden_act: 'silu',
  hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 21,
  model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6,
  rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', use_cache: true,
  use_sliding_window: false, vocab_size: 151936,
};

/** config.json of thenlper/gte-base (method-notes §2). */
const GTE_BASE = {
  architectures: ['BertModel'], attention_probs_dropout_prob: 0.1, hidden_act: 'gelu', hidden_dropout_prob: 0.1, hidden_size: 768,
  initializer_range: 0.02, intermediate_size: 3072, layer_norm_eps: 1e-12, max_position_embeddings: 512, model_type: 'bert',
  num_attention_heads: 12, num_hidden_layers: 12, pad_token_id: 0, position_embedding_type: 'absolute', torch_dtype: 'float32',
  type_vocab_size: 2, use_cache: true, vocab_size: 30522,
};

/** The tiny Qwen2 of scripts/golden as transformers 5 writes its config (rope_parameters, layer_types). */
const TINY_QWEN2_V5 = {
  architectures: ['Qwen2ForCausalLM'], hidden_size: 64, intermediate_size: 176, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, vocab_size: 512, rms_norm_eps: 1e-6, tie_word_embeddings: true, max_position_embeddings: 128,
  rope_parameters: { rope_theta: 1000000.0, rope_type: 'default' }, layer_types: ['full_attention', 'full_attention'],
  use_sliding_window: false, sliding_window: null, model_type: 'qwen2',
};

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hf-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function assertSameTensors(actual: Map<string, HostTensor>, expected: Map<string, HostTensor>): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, t] of expected) {
    const got = actual.get(name)!;
    assert.deepEqual({ dtype: got.dtype, shape: got.shape }, { dtype: t.dtype, shape: t.shape }, name);
    assert.deepEqual(got.data, t.data, name);
  }
}

describe('HF folder', () => {
  const qwenTiny = parseQwen2Config(TINY_QWEN2_V5, 'tiny');
  const weights = seededTensors(qwen2TensorShapes(qwenTiny), 7);

  it('writes and reads a single-file checkpoint with its config', async () => {
    const dir = await tempDir();
    await writeHfFolder(dir, TINY_QWEN2_V5, weights);
    assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'model.safetensors']);
    assert.deepEqual(await readHfConfig(dir), TINY_QWEN2_V5);
    assertSameTensors(await readHfWeights(dir), weights);
  });

  it('writes and reads a sharded checkpoint through model.safetensors.index.json', async () => {
    const dir = await tempDir();
    await writeHfFolder(dir, TINY_QWEN2_V5, weights, { shardBytes: 60_000, dtype: 'BF16' });
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
    const files = [...new Set(Object.values(index.weight_map as Record<string, string>))].sort();
    // Greedy over sorted names, BF16 bytes: the 64 KiB embedding alone, then groups of ≤ 60,000 bytes
    // (per layer: input norm + down + gate | up + post norm + attention, with the next name appended).
    assert.deepEqual(files, [1, 2, 3, 4, 5].map((i) => `model-0000${i}-of-00005.safetensors`));
    assert.deepEqual(Object.keys(index.weight_map).filter((k) => index.weight_map[k] === files[0]), ['model.embed_tokens.weight']);
    assert.deepEqual(Object.keys(index.weight_map).sort(), [...weights.keys()].sort());
    assert.equal(index.metadata.total_size, qwen2ParamCount(qwenTiny) * 2);
    // BF16 storage: what comes back is the BF16 rounding of what went in.
    const read = await readHfWeights(dir);
    const rounded = new Map([...weights].map(([name, t]) => {
      const bits = new Uint32Array(Float32Array.from(t.data).buffer);
      for (let i = 0; i < bits.length; i++) bits[i] = (((bits[i]! + 0x7fff + ((bits[i]! >>> 16) & 1)) >>> 16) << 16) >>> 0;
      return [name, { ...t, data: new Float32Array(bits.buffer) }] as const;
    }));
    assertSameTensors(read, new Map(rounded));
  });

  it('names the missing shard, and the tensor a shard lacks', async () => {
    const dir = await tempDir();
    await writeHfFolder(dir, TINY_QWEN2_V5, weights, { shardBytes: 60_000 });
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8'));
    const weightMap = index.weight_map as Record<string, string>;
    const files = [...new Set(Object.values(weightMap))].sort();
    assert.ok(files.length >= 3, `expected several shards, got ${files.length}`);
    weightMap['model.layers.9.mlp.up_proj.weight'] = files[1]!;
    await writeFile(indexPath, JSON.stringify(index));
    await assert.rejects(readHfWeights(dir), {
      name: 'WeightsError',
      message: `${indexPath}: tensor "model.layers.9.mlp.up_proj.weight" is listed in ${files[1]}, but ${files[1]} does not contain it`,
    });
    await unlink(join(dir, files[2]!));
    const firstInShard = Object.entries(weightMap).find(([, f]) => f === files[2])![0];
    await assert.rejects(readHfWeights(dir), {
      message: `${indexPath}: tensor "${firstInShard}" maps to ${files[2]}, which does not exist in ${dir}`,
    });
  });

  it('explains a folder without weights or config', async () => {
    const dir = await tempDir();
    await assert.rejects(readHfWeights(dir), (err: unknown) => err instanceof WeightsError && err.message === `${dir}: neither model.safetensors nor model.safetensors.index.json found; only safetensors checkpoints are supported (convert a pytorch_model.bin with transformers' save_pretrained)`);
    await assert.rejects(readHfConfig(dir), (err: unknown) => err instanceof WeightsError && err.message.startsWith(`${join(dir, 'config.json')}: cannot read the model config`));
    await writeFile(join(dir, 'config.json'), '{"hidden_size": ');
    await assert.rejects(readHfConfig(dir), (err: unknown) => err instanceof WeightsError && err.message.startsWith(`${join(dir, 'config.json')}: the model config is not valid JSON`));
  });

  it('normalises BERT names: bert. prefix, gamma/beta, position_ids, pooler and heads dropped', async () => {
    const t = (v: number): HostTensor => ({ dtype: 'float32', shape: [1], data: Float32Array.of(v) });
    const ids: HostTensor = { dtype: 'int32', shape: [1, 4], data: Int32Array.of(0, 1, 2, 3) };
    const dir = await tempDir();
    await writeSafetensors(join(dir, 'model.safetensors'), new Map([
      ['bert.embeddings.LayerNorm.gamma', t(1)],
      ['bert.embeddings.LayerNorm.beta', t(2)],
      ['bert.embeddings.position_ids', ids],
      ['bert.encoder.layer.0.attention.output.LayerNorm.gamma', t(3)],
      ['bert.encoder.layer.0.attention.self.query.weight', t(4)],
      ['bert.pooler.dense.weight', t(5)],
      ['cls.predictions.bias', t(6)],
    ]));
    const names = normalizeBertNames(await readHfWeights(dir));
    assert.deepEqual(Object.fromEntries([...names].map(([k, v]) => [k, v.data[0]])), {
      'embeddings.LayerNorm.weight': 1,
      'embeddings.LayerNorm.bias': 2,
      'encoder.layer.0.attention.output.LayerNorm.weight': 3,
      'encoder.layer.0.attention.self.query.weight': 4,
    });
    assert.throws(() => normalizeBertNames(new Map([['bert.a.LayerNorm.gamma', t(1)], ['a.LayerNorm.weight', t(2)]])), /holds "a.LayerNorm.weight" twice/);
  });
});

describe('HF configs', () => {
  it('reads the Qwen2.5-0.5B-Instruct config and counts 494,032,768 parameters without allocating', () => {
    const cfg = parseQwen2Config(QWEN25_05B, 'config.json');
    assert.deepEqual(cfg, {
      hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
      rope_theta: 1000000, rms_norm_eps: 1e-6, vocab_size: 151936, tie_word_embeddings: true, max_position_embeddings: 32768, head_dim: 64,
    });
    assert.equal(qwen2ParamCount(cfg), 494_032_768);
    assert.equal(qwen2ParamCount({ ...cfg, tie_word_embeddings: false }), 494_032_768 + 151936 * 896);
  });

  it('counts exactly the elements of a checkpoint built from HF names and shapes', () => {
    for (const cfg of [parseQwen2Config(TINY_QWEN2_V5, 'tiny'), parseQwen2Config({ ...TINY_QWEN2_V5, tie_word_embeddings: false, head_dim: 32 }, 'tiny')]) {
      const total = [...qwen2TensorShapes(cfg).values()].reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
      assert.equal(qwen2ParamCount(cfg), total);
    }
  });

  it('reads rope_theta from transformers 5 rope_parameters and applies HF defaults', () => {
    assert.deepEqual(parseQwen2Config(TINY_QWEN2_V5, 'tiny'), {
      hidden_size: 64, intermediate_size: 176, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
      rope_theta: 1000000, rms_norm_eps: 1e-6, vocab_size: 512, tie_word_embeddings: true, max_position_embeddings: 128, head_dim: 16,
    });
    const minimal = { hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 10 };
    assert.deepEqual(parseQwen2Config(minimal, 'm'), {
      ...minimal, num_key_value_heads: 2, rope_theta: 10000, rms_norm_eps: 1e-6, tie_word_embeddings: false, max_position_embeddings: 32768, head_dim: 4,
    });
  });

  it('rejects Qwen2 configs the decoder does not implement, naming the key', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ use_sliding_window: true }, 'config.json: "use_sliding_window": sliding-window attention is not implemented; set it to false'],
      [{ rope_scaling: { type: 'yarn', factor: 4 } }, 'config.json: "rope_scaling": RoPE type "yarn" is not implemented (only "default")'],
      [{ hidden_act: 'gelu' }, 'config.json: "hidden_act": "gelu" is not supported: Qwen2 uses SwiGLU with silu'],
      [{ model_type: 'qwen3' }, 'config.json: "model_type": "qwen3" is not supported: this loader implements Qwen2 (Qwen2/Qwen2.5 checkpoints)'],
      [{ num_key_value_heads: 3 }, 'config.json: "num_key_value_heads": 3 does not divide num_attention_heads 14'],
      [{ hidden_size: undefined }, 'config.json: "hidden_size": is missing; it must be a positive integer'],
      [{ vocab_size: 1.5 }, 'config.json: "vocab_size": must be a positive integer, got 1.5'],
      [{ layer_types: ['full_attention', 'sliding_attention'] }, 'config.json: "layer_types": only "full_attention" layers are implemented'],
    ];
    for (const [patch, message] of cases) {
      assert.throws(() => parseQwen2Config({ ...QWEN25_05B, ...patch }, 'config.json'), { name: 'WeightsError', message });
    }
  });

  it('reads the gte-base config and rejects unsupported BERT variants', () => {
    assert.deepEqual(parseBertConfig(GTE_BASE, 'config.json'), {
      hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, max_position_embeddings: 512,
      type_vocab_size: 2, vocab_size: 30522, layer_norm_eps: 1e-12, hidden_act: 'gelu', pad_token_id: 0,
    });
    const cases: [Record<string, unknown>, string][] = [
      [{ hidden_act: 'gelu_new' }, 'config.json: "hidden_act": "gelu_new" is not supported: the encoder implements exact (erf) GELU only'],
      [{ position_embedding_type: 'relative_key' }, 'config.json: "position_embedding_type": "relative_key" is not supported: only absolute position embeddings are implemented'],
      [{ num_attention_heads: 5 }, 'config.json: "num_attention_heads": 5 does not divide hidden_size 768'],
      [{ is_decoder: true }, 'config.json: "is_decoder": a decoder BERT is not supported; use an encoder checkpoint'],
    ];
    for (const [patch, message] of cases) {
      assert.throws(() => parseBertConfig({ ...GTE_BASE, ...patch }, 'config.json'), { name: 'WeightsError', message });
    }
  });

  it('lists the BERT tensors of a checkpoint that the loader reads back', async () => {
    const cfg = parseBertConfig({ ...GTE_BASE, hidden_size: 8, intermediate_size: 16, num_attention_heads: 2, num_hidden_layers: 1, vocab_size: 20, max_position_embeddings: 6 }, 'tiny');
    const tensors = seededTensors(bertTensorShapes(cfg), 3);
    const dir = await tempDir();
    await writeHfFolder(dir, GTE_BASE, tensors);
    assertSameTensors(normalizeBertNames(await readHfWeights(dir)), tensors);
  });
});

describe('HF folders written by transformers (test/fixtures/golden, from scripts/golden)', () => {
  const golden = fileURLToPath(new URL('../../../test/fixtures/golden/', import.meta.url));
  const skip = existsSync(join(golden, 'versions.json')) ? false : 'golden fixtures not present (see scripts/golden/README.md)';

  it('reads the tiny Qwen2: config, every tensor with the expected shape, and the parameter count', { skip }, async () => {
    const dir = join(golden, 'qwen2-tiny');
    const cfg = parseQwen2Config(await readHfConfig(dir), join(dir, 'config.json'));
    assert.deepEqual(cfg, parseQwen2Config(TINY_QWEN2_V5, 'tiny'));
    const weights = await readHfWeights(dir);
    assert.deepEqual(new Map([...weights].map(([k, t]) => [k, t.shape])), qwen2TensorShapes(cfg));
    assert.equal([...weights.values()].reduce((n, t) => n + t.data.length, 0), qwen2ParamCount(cfg));
  });

  it('reads the tiny BERT: config and every tensor with the expected shape', { skip }, async () => {
    const dir = join(golden, 'bert-tiny');
    const cfg = parseBertConfig(await readHfConfig(dir), join(dir, 'config.json'));
    assert.deepEqual(cfg, {
      hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64,
      type_vocab_size: 2, vocab_size: 256, layer_norm_eps: 1e-12, hidden_act: 'gelu', pad_token_id: 0,
    });
    const weights = normalizeBertNames(await readHfWeights(dir));
    assert.deepEqual(new Map([...weights].map(([k, t]) => [k, t.shape])), bertTensorShapes(cfg));
  });
});
