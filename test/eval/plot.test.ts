/**
 * `instructue plot` on a briefly trained tiny run: a well-formed SVG with two panels of the
 * requested number of users (plus the two legend dots), points coloured by the scenario label,
 * the same document as the library call, and the tuned-vector variant.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SCENARIO_INSTRUCTIONS } from '../../src/data/synth/scenarios.js';
import { encodeContextOf } from '../../src/model/encode-context.js';
import { instructionFigure } from '../../src/eval/figure.js';
import { writeInstructionTokens } from '../../src/eval/instruction-tokens-file.js';
import { readLabelled, sampleByUserHash } from '../../src/eval/labelled-samples.js';
import { silentLogger } from '../../src/log.js';
import { loadTrainedModel } from '../../src/train/load-trained.js';
import { cli, trainedRun, type TrainedRun } from './support.js';

const SCENARIO = 'game_topup';
const USERS = 40;

/** Throws unless every tag is closed in order and there is one root element. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  let roots = 0;
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^<>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1);
  assert.ok(!/<[^>]*</.test(svg), 'a stray <');
}

describe('instructue plot', () => {
  let fixture: TrainedRun;
  let dir: string;
  before(async () => {
    fixture = await trainedRun(3, 120, 60, 41);
    dir = mkdtempSync(join(tmpdir(), 'instructue-plot-'));
  });
  after(() => {
    fixture.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a well-formed two-panel SVG with one point per sampled user, equal to the library figure', async () => {
    const out = join(dir, 'fig', 'tsne.svg');
    const r = await cli('plot', '--run', fixture.run, '--data', fixture.data.eval, '--scenario', SCENARIO, '--users', String(USERS), '--iterations', '120', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^wrote ${out}: ${USERS} users per panel`));
    const svg = readFileSync(out, 'utf8');
    assertWellFormed(svg);
    assert.equal(svg.match(/<circle /g)?.length, 2 * USERS + 2);
    const labelled = await readLabelled(fixture.data.eval, SCENARIO);
    const positives = sampleByUserHash(labelled, USERS, `figure/${SCENARIO}`).filter((l) => l.label === 1).length;
    assert.ok(positives > 0 && positives < USERS);
    assert.equal(svg.match(/fill="#D55E00"/g)?.length, 2 * positives + 1);
    assert.ok(svg.includes('>Universal (no instruction)</text>'));
    assert.ok(svg.includes(`>Instruction-aware: &quot;${SCENARIO_INSTRUCTIONS[SCENARIO]}&quot;</text>`));

    const trained = await loadTrainedModel({ run: fixture.run, log: silentLogger, backend: 'wasm' });
    try {
      const figure = await instructionFigure(trained.built.model, labelled, {
        context: encodeContextOf(trained.config, trained.built, trained.tabularSchema), scenario: SCENARIO, users: USERS,
        instruction: SCENARIO_INSTRUCTIONS[SCENARIO], iterations: 120,
      });
      assert.equal(figure.svg, svg);
    } finally {
      trained.built.model.dispose();
    }
  });

  it('draws the tuned-vector panel from --instruction-tokens', async () => {
    const tokens = join(dir, 'tokens.safetensors');
    await writeInstructionTokens(tokens, { k: 3, d: 64, vectors: Float32Array.from({ length: 192 }, (_, i) => Math.cos(i) * 0.2) }, {
      format: 'instructue-instruction-tokens/1', scenario: SCENARIO, shots: 0, steps: 0, lr: 0, tau: 0.05, seed: 0,
      initInstruction: '', losses: [], checkpoint: fixture.run, shotIds: [],
    });
    const out = join(dir, 'tuned.svg');
    const r = await cli('plot', '--run', fixture.run, '--data', fixture.data.eval, '--scenario', SCENARIO, '--users', '20', '--iterations', '60', '--instruction-tokens', tokens, '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const svg = readFileSync(out, 'utf8');
    assertWellFormed(svg);
    assert.equal(svg.match(/<circle /g)?.length, 2 * 20 + 2);
    assert.ok(svg.includes('>Instruction-aware: 3 tuned vectors</text>'));
  });
});
