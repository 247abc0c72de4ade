import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { exportPeftAdapter, importPeftAdapter, type PeftLoraSettings } from '../../src/model/peft.js';
import { readSafetensors, writeSafetensors, type HostTensor } from '../../src/weights/safetensors.js';
import { seededTensors } from '../helpers/hf-fixtures.js';

const SETTINGS: PeftLoraSettings = {
  r: 4, alpha: 8, dropout: 0.05, useRslora: false, baseModel: 'Qwen/Qwen2.5-0.5B-Instruct',
  targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};

/** LoRA tensors of a 2-layer model (hidden 16, kv 8, MLP 24), our names, PyTorch layout. */
function loraTensors(r = 4): Map<string, HostTensor> {
  const shapes = new Map<string, number[]>();
  const dims: Record<string, [number, number]> = {
    'self_attn.q_proj': [16, 16], 'self_attn.k_proj': [16, 8], 'self_attn.v_proj': [16, 8], 'self_attn.o_proj': [16, 16],
    'mlp.gate_proj': [16, 24], 'mlp.up_proj': [16, 24], 'mlp.down_proj': [24, 16],
  };
  for (let i = 0; i < 2; i++) {
    for (const [module, [inputs, outputs]] of Object.entries(dims)) {
      shapes.set(`model.layers.${i}.${module}.lora_A.weight`, [r, inputs]);
      shapes.set(`model.layers.${i}.${module}.lora_B.weight`, [outputs, r]);
    }
  }
  return seededTensors(shapes, 11);
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'peft-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function bits(t: HostTensor): number[] {
  return Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));
}

describe('PEFT adapter export/import', () => {
  it('round-trips LoRA and extra tensors bit-exactly, with the settings', async () => {
    const dir = await tempDir();
    const lora = loraTensors();
    const first = lora.get('model.layers.0.self_attn.q_proj.lora_A.weight')!;
    first.data[0] = -0;
    first.data[1] = 1e-45;
    const extra = new Map<string, HostTensor>([
      ['special_tokens.weight', { dtype: 'float32', shape: [2, 16], data: new Float32Array(32).map((_, i) => i / 7) }],
      ['adapters.bill.weight', { dtype: 'float32', shape: [3, 4], data: new Float32Array(12).fill(0.1) }],
    ]);
    await exportPeftAdapter(dir, lora, { ...SETTINGS, useRslora: true, extraTensors: extra });
    assert.deepEqual((await readdir(dir)).sort(), ['adapter_config.json', 'adapter_model.safetensors', 'instructue_extras.safetensors']);
    const back = await importPeftAdapter(dir);
    assert.deepEqual(back.config, { ...SETTINGS, useRslora: true });
    for (const [got, want] of [[back.lora, lora], [back.extra, extra]] as const) {
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [name, t] of want) {
        assert.deepEqual(got.get(name)!.shape, t.shape, name);
        assert.deepEqual(bits(got.get(name)!), bits(t), name);
      }
    }
  });

  it('writes PEFT key names and PEFT adapter_config.json fields', async () => {
    const dir = await tempDir();
    await exportPeftAdapter(dir, loraTensors(), SETTINGS);
    assert.deepEqual((await readdir(dir)).sort(), ['adapter_config.json', 'adapter_model.safetensors']);
    const { tensors, metadata } = await readSafetensors(join(dir, 'adapter_model.safetensors'));
    assert.deepEqual(metadata, { format: 'pt' });
    const peftKey = /^base_model\.model\.model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)\.lora_(A|B)\.weight$/;
    assert.equal(tensors.size, 28);
    assert.deepEqual([...tensors.keys()].filter((k) => !peftKey.test(k)), []);
    assert.deepEqual(tensors.get('base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight')!.shape, [8, 4]);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8')), {
      peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: 'Qwen/Qwen2.5-0.5B-Instruct', r: 4, lora_alpha: 8,
      lora_dropout: 0.05, target_modules: SETTINGS.targetModules, bias: 'none', fan_in_fan_out: false, inference_mode: true,
      init_lora_weights: true, modules_to_save: null, use_rslora: false, use_dora: false, rank_pattern: {}, alpha_pattern: {},
      layers_to_transform: null, layers_pattern: null, revision: null,
    });
  });

  it('rejects a wrong shape, a missing B and an untargeted module on export, naming the tensor', async () => {
    const dir = await tempDir();
    const wrong = loraTensors();
    wrong.set('model.layers.1.mlp.up_proj.lora_A.weight', { dtype: 'float32', shape: [5, 16], data: new Float32Array(80) });
    await assert.rejects(exportPeftAdapter(dir, wrong, SETTINGS), {
      name: 'WeightsError',
      message: 'LoRA export: tensor "model.layers.1.mlp.up_proj.lora_A.weight": shape [5,16] does not fit r = 4 (lora_A is [r, in], lora_B is [out, r])',
    });
    const missing = loraTensors();
    missing.delete('model.layers.0.self_attn.v_proj.lora_B.weight');
    await assert.rejects(exportPeftAdapter(dir, missing, SETTINGS), {
      message: 'LoRA export: tensor "model.layers.0.self_attn.v_proj.lora_A.weight": has no partner "model.layers.0.self_attn.v_proj.lora_B.weight"',
    });
    await assert.rejects(exportPeftAdapter(dir, loraTensors(), { ...SETTINGS, targetModules: ['q_proj'] }), {
      message: 'LoRA export: tensor "model.layers.0.self_attn.k_proj.lora_A.weight": module k_proj is not in target_modules ["q_proj"]',
    });
    assert.deepEqual(await readdir(dir), []);
  });

  it('rejects foreign or inconsistent adapter folders on import, naming file and key', async () => {
    const dir = await tempDir();
    await exportPeftAdapter(dir, loraTensors(), SETTINGS);
    const weightsPath = join(dir, 'adapter_model.safetensors');
    const configPath = join(dir, 'adapter_config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8'));

    const onDisk = (await readSafetensors(weightsPath)).tensors;
    onDisk.delete('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight');
    await writeSafetensors(weightsPath, onDisk);
    await assert.rejects(importPeftAdapter(dir), {
      name: 'WeightsError',
      message: `${weightsPath}: tensor "model.layers.1.mlp.down_proj.lora_B.weight": has no partner "model.layers.1.mlp.down_proj.lora_A.weight"`,
    });

    await writeFile(configPath, JSON.stringify({ ...config, r: 8 }));
    await assert.rejects(importPeftAdapter(dir), {
      name: 'WeightsError',
      message: `${weightsPath}: tensor "model.layers.0.mlp.down_proj.lora_A.weight": shape [4,24] does not fit r = 8 (lora_A is [r, in], lora_B is [out, r])`,
    });

    for (const [patch, message] of [
      [{ peft_type: 'IA3' }, '"peft_type": "IA3" is not supported; only LORA adapters can be imported'],
      [{ use_dora: true }, '"use_dora": true is not supported by this decoder (plain LoRA with one r and alpha only)'],
      [{ rank_pattern: { q_proj: 8 } }, '"rank_pattern": {"q_proj":8} is not supported by this decoder (plain LoRA with one r and alpha only)'],
      [{ target_modules: 'all-linear' }, '"target_modules": must be a list of module names such as ["q_proj", "v_proj"], got "all-linear"'],
    ] as const) {
      await writeFile(configPath, JSON.stringify({ ...config, ...patch }));
      await assert.rejects(importPeftAdapter(dir), { name: 'WeightsError', message: `${configPath}: ${message}` });
    }

    await writeFile(configPath, JSON.stringify(config));
    await writeSafetensors(weightsPath, { 'model.layers.0.self_attn.q_proj.lora_A.weight': { dtype: 'float32', shape: [4, 16], data: new Float32Array(64) } });
    await assert.rejects(importPeftAdapter(dir), {
      message: `${weightsPath}: tensor "model.layers.0.self_attn.q_proj.lora_A.weight" does not start with "base_model.model.", so it is not a PEFT LoRA key`,
    });
  });
});
