/**
 * Golden numerics: our Qwen2 decoder and BERT encoder against Hugging Face transformers on the
 * same checkpoints and inputs. The fixtures are written by scripts/golden/make_golden.py
 * (transformers 5.x, PyTorch, float32, eager attention; see test/fixtures/golden/versions.json).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { tf } from '../../src/backend/tf.js';
import { silentLogger } from '../../src/log.js';
import { buildBert, buildQwen2 } from '../../src/model/build-backbones.js';
import { readBertFolder, readQwen2Folder } from '../../src/model/build.js';
import { ParameterStore } from '../../src/model/parameters.js';
import { readSafetensors, type HostTensor } from '../../src/weights/safetensors.js';
import { WeightReader } from '../../src/model/weight-source.js';

const root = join(process.cwd(), 'test', 'fixtures', 'golden');
const missing = existsSync(join(root, 'versions.json')) ? false : 'golden fixtures absent: run scripts/golden/make_golden.py where transformers is installed and commit test/fixtures/golden/';

/** Max |a − b| over positions whose mask is 1 (rows of `width` values per position). */
function maskedMaxDiff(ours: Float32Array, theirs: HostTensor, mask: Int32Array, width: number): number {
  let m = 0;
  mask.forEach((keep, pos) => {
    if (!keep) return;
    for (let k = 0; k < width; k++) m = Math.max(m, Math.abs(ours[pos * width + k]! - theirs.data[pos * width + k]!));
  });
  return m;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`golden numerics vs transformers (${backend})`, { skip: missing }, () => {
    before(() => selectBackend(backend, silentLogger));

    it('Qwen2: every hidden state, the last hidden state and the logits match to 1e-4', async () => {
      const dir = join(root, 'qwen2-tiny');
      const { dims, source } = await readQwen2Folder(dir);
      const store = new ParameterStore();
      const decoder = buildQwen2(dims, new WeightReader(source, store), []);
      const expected = (await readSafetensors(join(dir, 'expected.safetensors'))).tensors;
      const ids = expected.get('input_ids')!;
      const mask = expected.get('attention_mask')!.data as Int32Array;
      const [b, t] = ids.shape as [number, number];
      const collected: Float32Array[] = [];
      const [last, logits] = tf.tidy(() => {
        const hidden = decoder.forward(decoder.embed(tf.tensor2d(ids.data as Int32Array, [b, t], 'int32')), mask, {}, (h) => collected.push(h.dataSync() as Float32Array));
        return [hidden.dataSync() as Float32Array, decoder.logits(hidden.reshape([b * t, dims.hidden])).dataSync() as Float32Array];
      });
      assert.equal(collected.length, dims.layers + 1);
      collected.forEach((h, i) => {
        const diff = maskedMaxDiff(h, expected.get(`hidden_state_${i}`)!, mask, dims.hidden);
        assert.ok(diff < 1e-4, `hidden_state_${i}: max diff ${diff}`);
        if (process.env.GOLDEN_VERBOSE) console.log(`${backend} hidden_state_${i} max diff ${diff}`);
      });
      const lastDiff = maskedMaxDiff(last!, expected.get('last_hidden_state')!, mask, dims.hidden);
      const logitDiff = maskedMaxDiff(logits!, expected.get('logits')!, mask, dims.vocab);
      assert.ok(lastDiff < 1e-4, `last_hidden_state: max diff ${lastDiff}`);
      assert.ok(logitDiff < 1e-4, `logits: max diff ${logitDiff}`);
      if (process.env.GOLDEN_VERBOSE) console.log(`${backend} qwen2 last ${lastDiff} logits ${logitDiff}`);
      decoder.disposeCaches();
      store.dispose();
    });

    it('BERT: last hidden state and masked mean pooling match to 1e-4', async () => {
      const dir = join(root, 'bert-tiny');
      const { dims, source } = await readBertFolder(dir);
      const store = new ParameterStore();
      const encoder = buildBert(dims, new WeightReader(source, store));
      const expected = (await readSafetensors(join(dir, 'expected.safetensors'))).tensors;
      const ids = expected.get('input_ids')!;
      const mask = expected.get('attention_mask')!.data as Int32Array;
      const types = expected.get('token_type_ids')!.data as Int32Array;
      const [n, l] = ids.shape as [number, number];
      const [hidden, pooled] = tf.tidy(() => {
        const h = encoder.forward(ids.data as Int32Array, mask, n, l, types);
        return [h.dataSync() as Float32Array, encoder.meanPool(h, mask, n, l).dataSync() as Float32Array];
      });
      const hiddenDiff = maskedMaxDiff(hidden!, expected.get('last_hidden_state')!, mask, dims.hidden);
      const pooledDiff = maskedMaxDiff(pooled!, expected.get('mean_pooled')!, new Int32Array(n).fill(1), dims.hidden);
      assert.ok(hiddenDiff < 1e-4, `last_hidden_state: max diff ${hiddenDiff}`);
      assert.ok(pooledDiff < 1e-4, `mean_pooled: max diff ${pooledDiff}`);
      if (process.env.GOLDEN_VERBOSE) console.log(`${backend} bert hidden ${hiddenDiff} pooled ${pooledDiff}`);
      store.dispose();
    });
  });
}
