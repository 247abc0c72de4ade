/**
 * `instructue embed` and `embedUsers` on a briefly trained tiny run: one row per record in file
 * order, the same numbers for every batch size and from the CLI as from the library, and the
 * instruction options (text, learned vectors, both) laid out as the model defines them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tf } from '../../src/backend/tf.js';
import { readSamples } from '../../src/data/reader.js';
import type { Sample } from '../../src/data/types.js';
import { embedUsers } from '../../src/eval/embed.js';
import { readEmbeddingsFile } from '../../src/eval/embeddings-file.js';
import { encodeContextOf } from '../../src/model/encode-context.js';
import { writeInstructionTokens, type InstructionTokens } from '../../src/eval/instruction-tokens-file.js';
import { instructionVectorsFromIds } from '../../src/eval/instruction-tuning.js';
import { silentLogger } from '../../src/log.js';
import { loadTrainedModel, type TrainedModel } from '../../src/train/load-trained.js';
import { cli, trainedRun, type TrainedRun } from './support.js';

const TEXT = 'Will this user top up a game next month?';
const N = 45;

describe('instructue embed', () => {
  let fixture: TrainedRun;
  let trained: TrainedModel;
  let samples: Sample[];
  let dir: string;
  const embed = (opts: { instruction?: string | null; instructionTokens?: InstructionTokens; batch?: number }) =>
    embedUsers(trained.built.model, samples, { context: encodeContextOf(trained.config, trained.built, trained.tabularSchema), ...opts });

  before(async () => {
    fixture = await trainedRun(3, 120, N, 21);
    trained = await loadTrainedModel({ run: fixture.run, log: silentLogger, backend: 'wasm' });
    samples = [];
    for await (const s of readSamples(fixture.data.eval, { onInvalid: 'fail' })) samples.push(s);
    dir = mkdtempSync(join(tmpdir(), 'instructue-embed-'));
  });
  after(() => {
    trained.built.model.dispose();
    fixture.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes N×d rows with the user ids in file order, identical for batch sizes 7 and 32, equal to the library', async () => {
    const outs = [join(dir, 'b7.safetensors'), join(dir, 'b32.safetensors')];
    const runs = [await cli('embed', '--run', fixture.run, '--data', fixture.data.eval, '--out', outs[0]!, '--batch', '7'),
      await cli('embed', '--run', fixture.run, '--data', fixture.data.eval, '--out', outs[1]!)];
    for (const r of runs) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^wrote ${N} embeddings \\(d = 64\\) to `));
      assert.match(r.stderr, new RegExp(`embed ${N}/${N} \\[=+\\]`));
    }
    const [b7, b32] = await Promise.all(outs.map((o) => readEmbeddingsFile(o)));
    assert.deepEqual([b7!.n, b7!.d], [N, 64]);
    assert.deepEqual(b7!.userIds, samples.map((s) => s.record.user_id));
    assert.deepEqual(b7, b32);
    assert.deepEqual(await embed({ batch: 16 }), b7);
    // Second pass: the decoder's per-length RoPE tables are cached by the first (not a leak).
    const before = tf.memory().numTensors;
    await embed({ batch: 16 });
    assert.equal(tf.memory().numTensors, before, 'embedUsers leaves no tensors behind');
  });

  it('learned vectors equal to the instruction\'s token embeddings reproduce the written instruction exactly', async () => {
    const ids = trained.built.decoderTokenizer.encode(TEXT);
    const asVectors = instructionVectorsFromIds(trained.built.model, ids, ids.length);
    const written = await embed({ instruction: TEXT });
    assert.deepEqual(await embed({ instruction: null, instructionTokens: asVectors }), written);
    const universal = await embed({});
    const gap = written.embeddings.reduce((m, v, i) => Math.max(m, Math.abs(v - universal.embeddings[i]!)), 0);
    assert.ok(gap > 1e-3, `the instruction must change the embedding (max |Δ| ${gap})`);
  });

  it('--instruction and --instruction-tokens (alone and together) match the library', async () => {
    const tokens: InstructionTokens = { k: 3, d: 64, vectors: Float32Array.from({ length: 192 }, (_, i) => Math.sin(i) * 0.2) };
    const file = join(dir, 'tokens.safetensors');
    await writeInstructionTokens(file, tokens, {
      format: 'instructue-instruction-tokens/1', scenario: 'game_topup', shots: 0, steps: 0, lr: 0, tau: 0.05, seed: 0,
      initInstruction: '', losses: [], checkpoint: fixture.run, shotIds: [],
    });
    const cases: Array<{ flags: string[]; opts: { instruction?: string; instructionTokens?: InstructionTokens } }> = [
      { flags: ['--instruction', TEXT], opts: { instruction: TEXT } },
      { flags: ['--instruction-tokens', file], opts: { instructionTokens: tokens } },
      { flags: ['--instruction', TEXT, '--instruction-tokens', file], opts: { instruction: TEXT, instructionTokens: tokens } },
    ];
    for (const [i, c] of cases.entries()) {
      const out = join(dir, `case${i}.safetensors`);
      const r = await cli('embed', '--run', fixture.run, '--data', fixture.data.eval, '--out', out, ...c.flags);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await readEmbeddingsFile(out), await embed(c.opts), c.flags.join(' '));
    }
  });

  it('refuses instruction vectors of another width, naming the mismatch', async () => {
    const file = join(dir, 'narrow.safetensors');
    await writeInstructionTokens(file, { k: 2, d: 8, vectors: new Float32Array(16) }, {
      format: 'instructue-instruction-tokens/1', scenario: 'x', shots: 0, steps: 0, lr: 0, tau: 0.05, seed: 0,
      initInstruction: '', losses: [], checkpoint: '', shotIds: [],
    });
    const r = await cli('embed', '--run', fixture.run, '--data', fixture.data.eval, '--out', join(dir, 'x.safetensors'), '--instruction-tokens', file);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /instruction tokens are 8 wide but the model's hidden size is 64/);
  });
});
