import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { silentLogger } from '../../src/log.js';
import { fromPeftLayout, toPeftLayout } from '../../src/model/lora-export.js';
import { exportPeftAdapter, importPeftAdapter } from '../../src/model/peft.js';
import { tinyModel } from '../helpers/tiny-model.js';

before(() => selectBackend('wasm', silentLogger));

it('model trainables → PEFT folder → model trainables is bit-exact, with PEFT shapes and key names', async () => {
  const model = tinyModel();
  const dir = mkdtempSync(join(tmpdir(), 'peft-'));
  try {
    const trainables = model.store.snapshot();
    const { lora, extra } = toPeftLayout(trainables);
    // PEFT layout: lora_A [r, in], lora_B [out, r]; q_proj of the tiny model is 16 → 16, k_proj 16 → 8, r = 2.
    assert.deepEqual(lora.get('model.layers.0.self_attn.k_proj.lora_A.weight')!.shape, [2, 16]);
    assert.deepEqual(lora.get('model.layers.0.self_attn.k_proj.lora_B.weight')!.shape, [8, 2]);
    assert.ok(extra.has('special_tokens.embedding') && extra.has('adapters.tabular.weight'));
    await exportPeftAdapter(dir, lora, { r: 2, alpha: 4, dropout: 0, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], useRslora: false, baseModel: 'tiny', extraTensors: extra });
    const back = await importPeftAdapter(dir);
    const restored = fromPeftLayout(back.lora, back.extra);
    assert.deepEqual([...restored.keys()].sort(), [...trainables.keys()].sort());
    for (const [name, t] of trainables) {
      assert.deepEqual(restored.get(name)!.shape, t.shape, name);
      assert.deepEqual(restored.get(name)!.data, t.data, name);
    }
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
