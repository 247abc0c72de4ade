/**
 * The paper preset's code path on tiny weights: a Qwen2 folder (config.json + safetensors +
 * byte-level BPE tokenizer.json) and a BERT folder (WordPiece) written by this test are read by
 * `buildModel` through `model.decoder.hf_dir` / `model.encoder.hf_dir`, and the full InstructUE
 * trains a step on synthetic users. Special tokens land right after the tokenizer's ids.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { writeHfFolder, type BertConfig, type Qwen2Config } from '../../src/weights/hf-folder.js';
import { SPECIAL_TOKENS } from '../../src/model/special-tokens.js';
import { LocalComm } from '../../src/train/comm.js';
import { TrainingSession } from '../../src/train/session.js';
import { bertTensorShapes, qwen2TensorShapes, seededTensors, TINY_BERT_VOCAB, TINY_BPE_CONFIG, tinyBpeTokenizerJson, writeTokenizerFolder } from '../helpers/hf-fixtures.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

let root: string;
let data: SynthData;

const qwen: Qwen2Config = {
  hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  rope_theta: 1e6, rms_norm_eps: 1e-6, vocab_size: 320, tie_word_embeddings: true, max_position_embeddings: 512, head_dim: 8,
};
const bert: BertConfig = {
  hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64,
  type_vocab_size: 2, vocab_size: TINY_BERT_VOCAB.length, layer_norm_eps: 1e-12, hidden_act: 'gelu', pad_token_id: 0,
};

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'instructue-hf-'));
  data = synthData(30, 5, 5);
  const tensors = seededTensors(qwen2TensorShapes(qwen), 3);
  for (const [name, t] of tensors) if (!name.startsWith('model.embed_tokens')) t.data.forEach((_, i, a) => (a[i] = a[i]! * 0.2));
  await writeHfFolder(join(root, 'qwen'), { model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], hidden_act: 'silu', eos_token_id: 258, ...qwen }, tensors);
  await writeTokenizerFolder(join(root, 'qwen'), { tokenizer: tinyBpeTokenizerJson(), config: TINY_BPE_CONFIG });
  await writeHfFolder(join(root, 'bert'), { model_type: 'bert', architectures: ['BertModel'], position_embedding_type: 'absolute', ...bert }, seededTensors(bertTensorShapes(bert), 4));
  await writeTokenizerFolder(join(root, 'bert'), { vocabTxt: TINY_BERT_VOCAB });
});

after(() => {
  data.remove();
  rmSync(root, { recursive: true, force: true });
});

it('builds InstructUE from Hugging Face folders and trains a step on them', async () => {
  const config = loadConfig({
    file: 'configs/tiny.json',
    overrides: { 'model.decoder.hf_dir': join(root, 'qwen'), 'model.encoder.hf_dir': join(root, 'bert'), 'data.train': data.train, backend: 'wasm', 'model.preamble': 'full', 'model.decoder.max_positions': 1024 },
    env: {},
  });
  const session = await TrainingSession.create(config, { runDir: join(root, 'run'), log: silentLogger });
  try {
    const { model, decoderTokenizer, firstSpecialId } = session.built;
    assert.equal(model.decoder.dims.vocab, 320);
    assert.equal(model.decoder.dims.hidden, 32);
    assert.equal(model.encoder!.dims.hidden, 16);
    assert.equal(firstSpecialId, decoderTokenizer.vocabSize);
    assert.ok(firstSpecialId + SPECIAL_TOKENS.length <= 320);
    assert.equal(model.options.eosId, 258);
    assert.ok(model.options.preambleIds.length > 10, 'the Fig. 3 preamble is tokenised');
    const samples = await session.encode(session.shards.next(4, 1).perRank[0]!);
    const result = await session.stepper.run([samples], new LocalComm());
    assert.ok(Number.isFinite(result.lossLm) && result.lossLm! > 0);
    assert.ok(Number.isFinite(result.lossCl) && result.lossCl! > 0);
    assert.ok(result.gradNorm > 0);
  } finally {
    await session.close();
  }
});
