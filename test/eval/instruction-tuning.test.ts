/**
 * Instruction tuning (paper §3.3.3, Eq. 6) on a briefly trained tiny run: the must-show (tuned
 * vectors lower the prototype loss on held-out users below the written instruction), that tuning
 * starts exactly at the written instruction and moves nothing but the vectors, and that the CLI
 * writes what the library computes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tf } from '../../src/backend/tf.js';
import type { EncodeContext } from '../../src/data/collate.js';
import { SCENARIO_INSTRUCTIONS } from '../../src/data/synth/scenarios.js';
import { encodeContextOf } from '../../src/model/encode-context.js';
import { readInstructionTokens } from '../../src/eval/instruction-tokens-file.js';
import { compareOnUsers, drawShots, TUNE_DEFAULTS, tuneScenario, type LabelledSample, type ScenarioTuneResult } from '../../src/eval/instruction-tuning.js';
import { readLabelled } from '../../src/eval/labelled-samples.js';
import { silentLogger } from '../../src/log.js';
import { loadTrainedModel, type TrainedModel } from '../../src/train/load-trained.js';
import { cli, trainedRun, type TrainedRun } from './support.js';

const SCENARIO = 'purchasing_power';
const WRITTEN = SCENARIO_INSTRUCTIONS[SCENARIO];
const TAU = 0.05;
const SETTINGS = { shots: 16, seed: 3, steps: TUNE_DEFAULTS.steps, lr: TUNE_DEFAULTS.lr };

describe('instruction tuning', () => {
  let fixture: TrainedRun;
  let trained: TrainedModel;
  let context: EncodeContext;
  let labelled: LabelledSample[];
  let tuned: ScenarioTuneResult;
  const tune = (steps: number) => tuneScenario(trained.built.model, labelled, { context, ...SETTINGS, steps, tau: TAU, initInstruction: WRITTEN });

  before(async () => {
    fixture = await trainedRun(20, 200, 400, 31);
    trained = await loadTrainedModel({ run: fixture.run, log: silentLogger, backend: 'wasm' });
    context = encodeContextOf(trained.config, trained.built, trained.tabularSchema);
    labelled = await readLabelled(fixture.data.eval, SCENARIO);
    tuned = tune(SETTINGS.steps);
  });
  after(() => {
    trained.built.model.dispose();
    fixture.remove();
  });

  it('a tuned instruction lowers the prototype loss on held-out users below the written one', (t) => {
    const { manual, tuned: loss } = compareOnUsers(trained.built.model, context, tuned.heldOut, WRITTEN, tuned.tokens, TAU);
    const message = `held-out Eq. 6 on ${tuned.heldOut.length} users: written ${manual.toFixed(4)}, tuned ${loss.toFixed(4)}; shots ${tuned.losses[0]!.toFixed(4)} → ${tuned.losses.at(-1)!.toFixed(4)}`;
    t.diagnostic(message);
    assert.ok(loss < manual - 1e-3, message);
    assert.ok(tuned.losses.at(-1)! < tuned.losses[0]!, message);
    assert.equal(tuned.losses.length, SETTINGS.steps + 1);
    // The held-out users are exactly the labelled users that were not shots.
    const heldIds = new Set(tuned.heldOut.map((h) => h.sample.record.user_id));
    assert.equal(tuned.shotIds.length, 2 * SETTINGS.shots);
    assert.ok(tuned.shotIds.every((id) => !heldIds.has(id)));
    assert.equal(heldIds.size + tuned.shotIds.length, labelled.length);
  });

  it('starts exactly at the written instruction, moves only the vectors, and is deterministic', () => {
    const model = trained.built.model;
    const start = tune(0);
    const atStart = compareOnUsers(model, context, start.heldOut.slice(0, 40).concat(start.heldOut.slice(-40)), WRITTEN, start.tokens, TAU);
    assert.equal(atStart.tuned, atStart.manual);
    assert.deepEqual(start.tokens, start.init);

    const frozen = model.store.snapshot();
    tune(2); // warm-up: per-length RoPE tables are cached on first use
    const tensors = tf.memory().numTensors;
    const again = tune(SETTINGS.steps);
    assert.equal(tf.memory().numTensors, tensors, 'tuning leaves no tensors behind');
    assert.deepEqual(again.tokens, tuned.tokens);
    assert.deepEqual(again.losses, tuned.losses);
    assert.deepEqual(model.store.snapshot(), frozen, 'every model parameter is unchanged');
  });

  it('draws shots deterministically per seed, class-balanced, and refuses a class that is too small', () => {
    const a = drawShots(labelled, 5, 'x');
    assert.deepEqual(drawShots(labelled, 5, 'x'), a);
    assert.notDeepEqual(drawShots(labelled, 5, 'y').shots, a.shots);
    assert.deepEqual(a.shots.map((s) => s.label), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    const positives = labelled.filter((l) => l.label === 1).length;
    assert.throws(() => drawShots(labelled, positives + 1, 'x'), new RegExp(`only ${positives} labelled users have label 1`));
  });

  it('the CLI writes the same vectors, sidecar and held-out numbers as the library', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'instructue-tune-'));
    try {
      const out = join(dir, 'tokens.safetensors');
      const r = await cli('tune-instruction', '--run', fixture.run, '--data', fixture.data.eval, '--scenario', SCENARIO, '--shots', String(SETTINGS.shots),
        '--steps', String(SETTINGS.steps), '--seed', String(SETTINGS.seed), '--lr', String(SETTINGS.lr), '--tau', String(TAU), '--held-out', '1000', '--out', out, '--json');
      assert.equal(r.code, 0, r.stderr);
      const held = compareOnUsers(trained.built.model, context, tuned.heldOut, WRITTEN, tuned.tokens, TAU);
      assert.deepEqual(JSON.parse(r.stdout), {
        out, scenario: SCENARIO, tokens: tuned.tokens.k, shots: SETTINGS.shots, steps: SETTINGS.steps,
        loss_start: tuned.losses[0], loss_end: tuned.losses.at(-1), held_out: held,
      });
      const { tokens, info } = await readInstructionTokens(out);
      assert.deepEqual(tokens, tuned.tokens);
      assert.deepEqual(info, {
        format: 'instructue-instruction-tokens/1', scenario: SCENARIO, shots: SETTINGS.shots, steps: SETTINGS.steps, lr: SETTINGS.lr, tau: TAU,
        seed: SETTINGS.seed, initInstruction: WRITTEN, losses: tuned.losses, checkpoint: trained.checkpoint, shotIds: tuned.shotIds,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
