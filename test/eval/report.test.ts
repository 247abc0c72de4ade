/**
 * `instructue report` at quick sizes, end to end through the real CLI twice: a normal run writes
 * results.md, results.json and the figure; `report --check` on that JSON reruns everything in a
 * second process and must match it (here exactly: nothing may depend on time or thread order).
 * The comparison and the claim rule are also checked on hand-made inputs.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SCENARIO_NAMES } from '../../src/data/synth/scenarios.js';
import { checkClaims } from '../../src/eval/report/claims.js';
import { compareReports } from '../../src/eval/report/compare.js';
import { reportMarkdown } from '../../src/eval/report/markdown.js';
import { MAIN_ROWS, QUICK_PARAMS, RUNS } from '../../src/eval/report/plan.js';
import type { ReportResult, TableRow } from '../../src/eval/report/result.js';
import { cli } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'instructue-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function row(key: string, aucs: number[]): TableRow {
  const scores = Object.fromEntries(SCENARIO_NAMES.map((s, i) => [s, { auc: aucs[i]!, ks: 0.1 }]));
  return { key, label: key, scores, mean: { auc: aucs.reduce((a, b) => a + b, 0) / aucs.length, ks: 0.1 } };
}

describe('instructue report --quick', () => {
  it('writes results.md/.json and the figure; --check reruns in a second process and matches exactly', async () => {
    const out = join(dir, 'docs', 'results.md');
    const first = await cli('report', '--quick', '--out', out, '--work', join(dir, 'work1'));
    assert.equal(first.code, 0, first.stderr);
    for (const stage of ['report: [2/8] training full_seed2', 'report: [8/8] training mean_pooling', 'report: ablation text_only', 'train 2/2']) assert.ok(first.stderr.includes(stage), stage);
    const result = JSON.parse(readFileSync(join(dir, 'docs', 'results.json'), 'utf8')) as ReportResult;
    assert.deepEqual(result.params, QUICK_PARAMS);
    assert.deepEqual(result.main.map((r) => r.key), MAIN_ROWS.map((r) => r.key));
    assert.deepEqual(result.ablation.map((r) => r.key), [...RUNS.slice(1), RUNS[0]!].map((r) => r.key));
    assert.deepEqual(result.tuning.map((t) => t.scenario), [...SCENARIO_NAMES]);
    // Early stopping on its own tuning-pool users: a kept step within the run, and the shots' loss reported at that step.
    for (const t of result.tuning) {
      assert.equal(t.validation!.users, QUICK_PARAMS.tuneValidationUsers, t.scenario);
      assert.ok(Number.isInteger(t.validation!.keptStep) && t.validation!.keptStep >= 0 && t.validation!.keptStep <= QUICK_PARAMS.tuneSteps, t.scenario);
      assert.ok(t.heldOut.users <= QUICK_PARAMS.heldOutUsers && t.heldOut.users + t.validation!.users + 2 * QUICK_PARAMS.shots <= QUICK_PARAMS.tuneUsers, t.scenario);
    }
    assert.match(readFileSync(out, 'utf8'), /\| step kept \|/);
    assert.equal(result.claims.length, 15);
    assert.equal(result.recipe!.preset, 'small');
    // Shortcut-free retrieval of both seeds, untrained and trained, on the held-out users.
    assert.deepEqual(result.retrieval!.map((r) => r.key), ['untrained', 'untrained_seed2', 'universal', 'universal_seed2']);
    for (const { result: x } of result.retrieval!) {
      assert.equal(x.batch, QUICK_PARAMS.retrievalBatch);
      for (const k of ['noInstruction', 'sameTopic', 'mixed'] as const) {
        const s = x[k]!;
        assert.ok(s.batches > 0 && s.top1 >= 0 && s.top1 <= 1 && s.chanceTop1 >= 1 / x.batch && Number.isFinite(s.loss) && s.chanceLoss === Math.log(3 * x.batch - 2), `${k}: ${JSON.stringify(s)}`);
      }
    }
    assert.ok(readFileSync(out, 'utf8').includes('## Shortcut-free retrieval'));
    for (const r of [...result.main, ...result.ablation]) {
      assert.deepEqual(Object.keys(r.scores), [...SCENARIO_NAMES]);
      for (const s of Object.values(r.scores)) {
        assert.ok(s.auc > 0 && s.auc < 1 && s.ks >= 0 && s.ks <= 1, `${r.key}: ${JSON.stringify(s)}`);
        assert.ok(s.aucSE! > 0 && s.aucSE! < 0.25 && s.ksSE! > 0, `${r.key}: standard errors ${JSON.stringify(s)}`);
      }
      const ses = Object.values(r.scores).map((s) => s.aucSE!);
      assert.ok(Math.abs(r.mean.aucSE! - Math.sqrt(ses.reduce((a, x) => a + x * x, 0)) / ses.length) < 1e-12);
    }
    const universal = result.main.find((r) => r.key === 'universal')!.scores.game_topup!;
    assert.ok(readFileSync(out, 'utf8').includes(`${(100 * universal.auc).toFixed(2)} ± ${(100 * universal.aucSE!).toFixed(2)} / ${universal.ks.toFixed(3)} ± ${universal.ksSE!.toFixed(3)}`));
    assert.equal(readFileSync(out, 'utf8'), reportMarkdown(result));
    const svg = readFileSync(join(dir, 'docs', result.figure!), 'utf8');
    assert.equal(svg.match(/<circle /g)?.length, 2 * QUICK_PARAMS.figureUsers + 2);

    const second = await cli('report', '--check', join(dir, 'docs', 'results.json'), '--tolerance', '0', '--work', join(dir, 'work2'));
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /report --check: the rerun matches .* within 0 /);
    const rerun = JSON.parse(readFileSync(join(dir, 'work2', 'rerun.json'), 'utf8')) as ReportResult;
    // Versions hold the git commit, which may move between the two runs (others commit meanwhile).
    const stable = (r: ReportResult) => ({ ...r, command: '', wallSeconds: 0, versions: {} });
    assert.deepEqual(stable(rerun), stable(result));
    assert.equal(readFileSync(join(dir, 'work2', result.figure!), 'utf8'), svg);
    assert.ok(!existsSync(join(dir, 'work2', 'docs')), '--check writes nothing outside --work');
  });
});

describe('report helpers', () => {
  it('renders results written before standard errors were reported, without them', () => {
    const rows = ['untrained', 'encoder_mean', 'bag_of_events', 'universal', 'manual', 'tuned'].map((k) => row(k, [0.6, 0.61, 0.62, 0.63, 0.64, 0.65]));
    const old = {
      format: 'instructue-report/1', command: 'x', params: QUICK_PARAMS, versions: { instructue: '0', commit: 'c', node: 'n', tfjs: 't', backend: 'wasm' }, wallSeconds: 1,
      evalHalf: Object.fromEntries(SCENARIO_NAMES.map((s) => [s, { users: 50, positives: 20 }])), runs: [], main: rows, ablation: [rows[3]!],
      tuning: [], claims: checkClaims([...rows, ...['no_ntp', 'no_contrastive', 'mean_pooling', 'text_only', 'no_sequences', 'no_tabular'].map((k) => row(k, [0.6, 0.6, 0.6, 0.6, 0.6, 0.6]))], SCENARIO_NAMES), figure: null,
    } as unknown as ReportResult;
    const md = reportMarkdown(old);
    assert.ok(md.includes('63.00 / 0.1000') && !md.includes(' ± '), md.slice(0, 400));
    assert.match(md, /single-scenario differences of a few points may be within noise/);
  });

  it('a report without ablations (params.ablations = false) checks only the claims its rows support and says Table 3 was not run', () => {
    const rows = ['untrained', 'encoder_mean', 'bag_of_events', 'universal', 'manual', 'tuned'].map((k) => row(k, [0.6, 0.61, 0.62, 0.63, 0.64, 0.65]));
    const claims = checkClaims(rows, SCENARIO_NAMES);
    assert.deepEqual(claims.map((c) => c.id), ['tuned>manual', 'manual>universal', 'tuned>universal', 'universal>untrained', 'universal>encoder_mean', 'universal>bag_of_events']);
    const result = {
      format: 'instructue-report/2', command: 'x', params: { ...QUICK_PARAMS, ablations: false }, versions: { instructue: '0', commit: 'c', node: 'n', tfjs: 't', backend: 'wasm' }, wallSeconds: 1,
      evalHalf: Object.fromEntries(SCENARIO_NAMES.map((s) => [s, { users: 50, positives: 20 }])), runs: [], main: rows, ablation: [], tuning: [], claims, figure: null,
    } as unknown as ReportResult;
    assert.match(reportMarkdown(result), /## Table 3: ablations[^\n]*\n\nNot run in this report \(`params.ablations = false`/);
  });

  it('compareReports lists every number beyond the tolerance by path, ignoring command, versions and wall time', () => {
    const a = { command: 'x', wallSeconds: 1, versions: { node: 'a' }, main: [{ auc: 0.7, label: 'u' }], params: { seed: 1 } };
    const b = { command: 'y', wallSeconds: 9, versions: { node: 'b' }, main: [{ auc: 0.7009, label: 'u' }], params: { seed: 1 } };
    assert.deepEqual(compareReports(a, b), []);
    assert.deepEqual(compareReports(a, { ...b, main: [{ auc: 0.7011, label: 'v' }], params: { seed: 2 } }), [
      { path: 'main[0].auc', expected: 0.7, actual: 0.7011 },
      { path: 'main[0].label', expected: 'u', actual: 'v' },
      { path: 'params.seed', expected: 1, actual: 2 },
    ]);
    assert.deepEqual(compareReports({ main: [1, 2] }, { main: [1] }), [{ path: 'main.length', expected: 2, actual: 1 }]);
  });

  it('checkClaims counts AUC wins per scenario and applies the verdict rule', () => {
    const rows = [
      row('universal', [0.7, 0.7, 0.7, 0.7, 0.7, 0.7]),
      row('manual', [0.71, 0.71, 0.71, 0.71, 0.69, 0.69]),
      row('tuned', [0.72, 0.6, 0.6, 0.6, 0.6, 0.6]),
      ...['untrained', 'encoder_mean', 'bag_of_events', 'no_ntp', 'no_contrastive', 'mean_pooling', 'text_only', 'no_sequences', 'no_tabular'].map((k) => row(k, [0.6, 0.6, 0.6, 0.6, 0.95, 0.95])),
    ];
    const claims = new Map(checkClaims(rows, SCENARIO_NAMES).map((c) => [c.id, c]));
    assert.deepEqual(claims.get('manual>universal'), {
      id: 'manual>universal', statement: 'A written instruction beats the universal embedding (§4.3; mixed in the paper)',
      paperWins: 3, wins: 4, meanDelta: claims.get('manual>universal')!.meanDelta, verdict: 'holds',
    });
    assert.ok(Math.abs(claims.get('manual>universal')!.meanDelta - 0.02 / 6) < 1e-12);
    assert.deepEqual([claims.get('tuned>manual')!.wins, claims.get('tuned>manual')!.verdict, claims.get('tuned>manual')!.paperWins], [1, 'does not hold', 5]);
    assert.deepEqual([claims.get('full>no_ntp')!.wins, claims.get('full>no_ntp')!.verdict, claims.get('full>no_ntp')!.paperWins], [4, 'mixed', 6]);
  });
});
