/**
 * Writes a PEFT interoperability probe: our decoder built from the golden tiny Qwen2 folder,
 * with seeded non-zero LoRA on every projection, exported as a PEFT adapter, plus our last
 * hidden states for the golden input ids. scripts/golden/check_peft.py loads the same base
 * folder with transformers + PEFT and compares.
 *
 *   node dist/scripts/golden/make-peft-probe.js OUT_DIR
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../../src/backend/select.js';
import { tf } from '../../src/backend/tf.js';
import { silentLogger } from '../../src/log.js';
import { buildQwen2, LORA_TARGETS } from '../../src/model/build-backbones.js';
import { readQwen2Folder } from '../../src/model/build.js';
import { toPeftLayout } from '../../src/model/lora-export.js';
import { ParameterStore } from '../../src/model/parameters.js';
import { exportPeftAdapter } from '../../src/model/peft.js';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.js';
import { WeightReader } from '../../src/model/weight-source.js';
import { Rng } from '../../src/util/rng.js';

const out = process.argv[2];
if (!out) throw new Error('usage: make-peft-probe.js OUT_DIR');
const golden = 'test/fixtures/golden/qwen2-tiny';
const R = 4;
const ALPHA = 8;

await selectBackend('cpu', silentLogger);
const { dims, source } = await readQwen2Folder(golden);
const store = new ParameterStore();
const decoder = buildQwen2(dims, new WeightReader(source, store), LORA_TARGETS, { r: R, alpha: ALPHA, useRslora: false, dropout: 0, seed: 'peft-probe' });
for (const name of store.trainableNames().filter((n) => n.endsWith('lora_B.weight'))) {
  const v = store.variable(name);
  tf.tidy(() => v.assign(tf.tensor(new Rng('peft-probe', name).normalArray(v.size, 0.05), v.shape)));
}
const expected = (await readSafetensors(join(golden, 'expected.safetensors'))).tensors;
const ids = expected.get('input_ids')!;
const mask = expected.get('attention_mask')!;
const [b, t] = ids.shape as [number, number];
const hidden = tf.tidy(() => decoder.forward(decoder.embed(tf.tensor2d(ids.data as Int32Array, [b, t], 'int32')), mask.data as Int32Array).dataSync() as Float32Array);
mkdirSync(out, { recursive: true });
const { lora } = toPeftLayout(store.snapshot());
await exportPeftAdapter(join(out, 'adapter'), lora, { r: R, alpha: ALPHA, dropout: 0, targetModules: [...LORA_TARGETS], useRslora: false, baseModel: golden });
await writeSafetensors(join(out, 'ours.safetensors'), new Map([
  ['input_ids', ids], ['attention_mask', mask], ['last_hidden_state', { dtype: 'float32', shape: [b, t, dims.hidden], data: hidden }],
]));
console.log(`wrote ${out}/adapter (${lora.size} LoRA tensors) and ${out}/ours.safetensors`);
