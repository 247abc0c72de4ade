import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CALIBRATION_RANGE } from '../../src/data/synth/calibrate.js';
import { SCENARIO_NAMES } from '../../src/data/synth/scenarios.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('calibration');
after(cleanup);

describe('synth --report', () => {
  it('puts every scenario of the default evaluation set within [0.60, 0.95] AUC for bag-of-events + tabular', () => {
    // Default seed, difficulty and evaluation users; the evaluation set does not depend on --users.
    const out = execFileSync(process.execPath, ['bin/instructue.js', 'synth', '--users', '50', '--out', join(dir, 'd'), '--report', '--json'], { encoding: 'utf8' });
    const { report, eval_users: evalUsers } = JSON.parse(out) as { eval_users: number; report: { scenarios: Array<{ scenario: string; auc: number; nFit: number; nEval: number }> } };
    assert.equal(evalUsers, 2000);
    assert.deepEqual(report.scenarios.map((s) => s.scenario), [...SCENARIO_NAMES]);
    const [lo, hi] = CALIBRATION_RANGE;
    for (const s of report.scenarios) {
      assert.ok(s.auc >= lo && s.auc <= hi, `${s.scenario}: AUC ${s.auc} outside [${lo}, ${hi}]`);
      assert.equal(s.nFit + s.nEval, 2000);
    }
  });
});
