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
import { encodeSample, type EncodeContext } from '../../src/data/collate.js';
import { SCENARIO_INSTRUCTIONS } from '../../src/data/synth/scenarios.js';
import { encodeContextOf } from '../../src/model/encode-context.js';
import { readInstructionTokens } from '../../src/eval/instruction-tokens-file.js';
import { withInstruction } from '../../src/eval/embed.js';
import { compareOnUsers, drawShots, prototypeLossOf, TUNE_DEFAULTS, tuneInstruction, tuneScenario, type LabelledSample, type ScenarioTuneResult } from '../../src/eval/instruction-tuning.js';
import { readLabelled } from '../../src/eval/labelled-samples.js';
import { DEFAULT_SPLIT_SEED, splitByUserHash } from '../../src/eval/probe.js';
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

  it('early stopping keeps the vectors of the lowest validation loss, measured on users that are neither shots nor held out', (t) => {
    const model = trained.built.model;
    const opts = { context, ...SETTINGS, steps: 12, tau: TAU, initInstruction: WRITTEN, validationUsers: 60, validationEvery: 4 };
    const stopped = tuneScenario(model, labelled, opts);
    const v = stopped.validation!;
    t.diagnostic(`validation Eq. 6 after steps ${v.steps.join(', ')}: ${v.losses.map((l) => l.toFixed(4)).join(', ')}; kept step ${v.best}`);
    assert.deepEqual(v.steps, [0, 4, 8, 12]);
    assert.equal(v.best, v.steps[v.losses.indexOf(Math.min(...v.losses))]);
    assert.equal(stopped.validationSet.length, 60);
    const ids = (l: LabelledSample[]) => l.map((u) => u.sample.record.user_id);
    const groups = [stopped.shotIds, ids(stopped.validationSet), ids(stopped.heldOut)];
    assert.equal(new Set(groups.flat()).size, labelled.length, 'shots, validation and held-out users partition the labelled users');
    // The kept vectors are those of a run stopped at the best step; each value is Eq. 6 on the validation users.
    const at = (steps: number) => tuneScenario(model, labelled, { ...opts, steps, validationUsers: 0 }).tokens;
    assert.deepEqual(stopped.tokens, at(v.best));
    const encoded = stopped.validationSet.map((u) => encodeSample(withInstruction(u.sample, null), context));
    const labels = Int32Array.from(stopped.validationSet, (u) => u.label);
    assert.equal(v.losses.at(-1), prototypeLossOf(model, encoded, labels, at(12), TAU));
  });

  it('early stopping keeps the initial vectors when every step makes the validation loss worse', () => {
    const model = trained.built.model;
    const { shots } = drawShots(labelled, SETTINGS.shots, SETTINGS.seed);
    const encoded = shots.map((u) => encodeSample(withInstruction(u.sample, null), context));
    const labels = Int32Array.from(shots, (u) => u.label);
    const init = tune(0).init;
    // A negative learning rate climbs Eq. 6 on the shots, which are also the validation users here.
    const r = tuneInstruction(model, encoded, labels, init, { steps: 6, lr: -SETTINGS.lr, tau: TAU, validation: { encoded, labels, every: 2 } });
    const v = r.validation!;
    assert.ok(v.losses.slice(1).every((l) => l > v.losses[0]!), `every step raises the loss: ${v.losses.join(' ')}`);
    assert.equal(v.best, 0);
    assert.deepEqual(r.tokens, init);
    assert.notDeepEqual(tuneInstruction(model, encoded, labels, init, { steps: 6, lr: -SETTINGS.lr, tau: TAU }).tokens, init, 'without validation the last step is kept');
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
        '--steps', String(SETTINGS.steps), '--seed', String(SETTINGS.seed), '--lr', String(SETTINGS.lr), '--tau', String(TAU), '--held-out', '1000', '--out', out, '--json',
        '--split', 'all');
      assert.equal(r.code, 0, r.stderr);
      const held = compareOnUsers(trained.built.model, context, tuned.heldOut, WRITTEN, tuned.tokens, TAU);
      assert.deepEqual(JSON.parse(r.stdout), {
        out, scenario: SCENARIO, tokens: tuned.tokens.k, shots: SETTINGS.shots, steps: SETTINGS.steps, split: 'all', eligible_users: labelled.length,
        loss_start: tuned.losses[0], loss_end: tuned.losses.at(-1), held_out: held,
      });
      const { tokens, info } = await readInstructionTokens(out);
      assert.deepEqual(tokens, tuned.tokens);
      assert.deepEqual(info, {
        format: 'instructue-instruction-tokens/1', scenario: SCENARIO, shots: SETTINGS.shots, steps: SETTINGS.steps, lr: SETTINGS.lr, tau: TAU,
        seed: SETTINGS.seed, initInstruction: WRITTEN, losses: tuned.losses, checkpoint: trained.checkpoint, shotIds: tuned.shotIds,
        split: 'all', splitSeed: DEFAULT_SPLIT_SEED,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the CLI stops early as the library does and records it in the sidecar', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'instructue-tune-'));
    try {
      const out = join(dir, 'tokens.safetensors');
      const r = await cli('tune-instruction', '--run', fixture.run, '--data', fixture.data.eval, '--scenario', SCENARIO, '--shots', String(SETTINGS.shots),
        '--steps', '8', '--seed', String(SETTINGS.seed), '--lr', String(SETTINGS.lr), '--tau', String(TAU), '--split', 'all', '--validation', '40', '--validate-every', '4', '--out', out, '--json');
      assert.equal(r.code, 0, r.stderr);
      const library = tuneScenario(trained.built.model, labelled, { context, ...SETTINGS, steps: 8, lr: SETTINGS.lr, tau: TAU, initInstruction: WRITTEN, validationUsers: 40, validationEvery: 4 });
      const { tokens, info } = await readInstructionTokens(out);
      assert.deepEqual(tokens, library.tokens);
      assert.deepEqual(info!.validation, { users: 40, every: 4, ...library.validation });
      const summary = JSON.parse(r.stdout);
      assert.equal(summary.kept_step, library.validation!.best);
      assert.equal(summary.validation_loss, library.validation!.losses[library.validation!.steps.indexOf(library.validation!.best)]);
      const bad = await cli('tune-instruction', '--run', fixture.run, '--data', fixture.data.eval, '--scenario', SCENARIO, '--shots', '2', '--validate-every', '0', '--out', out);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--validate-every must be ≥ 1; got 0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('by default draws shots only from the probe\'s fit half, so no probed user is a shot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'instructue-tune-'));
    try {
      const out = join(dir, 'tokens.safetensors');
      const r = await cli('tune-instruction', '--run', fixture.run, '--data', fixture.data.eval, '--scenario', SCENARIO, '--shots', String(SETTINGS.shots),
        '--steps', '2', '--seed', String(SETTINGS.seed), '--tau', String(TAU), '--out', out, '--json');
      assert.equal(r.code, 0, r.stderr);
      const ids = labelled.map((l) => l.sample.record.user_id);
      const split = splitByUserHash(ids);
      const fit = new Set(split.fit.map((i) => ids[i]));
      const info = (await readInstructionTokens(out)).info!;
      assert.equal(info.split, 'fit');
      assert.ok(info.shotIds.length === 2 * SETTINGS.shots && info.shotIds.every((u) => fit.has(u)), 'every shot is in the fit half');
      const library = tuneScenario(trained.built.model, split.fit.map((i) => labelled[i]!), { context, ...SETTINGS, steps: 2, tau: TAU, initInstruction: WRITTEN });
      assert.deepEqual(info.shotIds, library.shotIds);
      assert.equal(JSON.parse(r.stdout).eligible_users, split.fit.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
