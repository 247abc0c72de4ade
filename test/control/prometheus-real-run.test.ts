/**
 * `/metrics` during a real 2-worker run of the tiny preset (real nats-server, coordinator in this
 * process, two worker processes), checked by Prometheus's own tools (Debian's `prometheus`
 * package; skipped with the reason where it is missing):
 *
 * - `promtool check metrics` on the body scraped mid-run passes with nothing to say;
 * - a real `prometheus` server on a free loopback port, started before the job, scrapes the
 *   control server every second, and its HTTP API answers `rate(instructue_steps_total[10s])`
 *   and the p90 step time from `instructue_step_duration_seconds_bucket` with positive values;
 *   every query of the Grafana dashboard runs there without error, and all but the fault-only
 *   ones return series;
 * - at the end, the counters agree with the run folder: steps and samples with
 *   RUN/metrics.jsonl and RUN/consumed.jsonl, step and all-reduce time sums with the metrics
 *   lines, checkpoint count and bytes with RUN/checkpoints, no fault counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readJsonLines } from '../../src/train/run-dir.js';
import { clusterConfig, runCluster } from '../helpers/cluster.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';
import { dashboardTargets } from './grafana-dashboard.js';
import { freePort, prometheusToolsMissing, promtoolCheckMetrics, startPrometheus, type TestPrometheus } from './prometheus-server.js';
import { promqlRefs } from './promql-refs.js';

const WINDOW = '10s';
const STEPS = 40;

/** The sample values of an exposition body, by series (`name{labels}`). */
function parseBody(body: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

async function poll<T>(what: string, read: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The single value of an instant query, when it has exactly one sample. */
async function scalar(prometheus: TestPrometheus, expr: string): Promise<number | undefined> {
  const result = await prometheus.query(expr);
  return result.length === 1 ? Number(result[0]!.value[1]) : undefined;
}

interface RunChecks {
  promtool: { status: number | null; output: string };
  stepsRate: number;
  stepTimeP90: number;
  dashboard: Array<{ panel: string; expr: string; series: number; error: string | null }>;
  final: Map<string, number>;
}

describe('Prometheus on a real 2-worker run', { skip: prometheusToolsMissing() ?? false }, () => {
  let data: SynthData;
  let root: string;
  before(() => {
    data = synthData(300, 31);
    root = mkdtempSync(join(tmpdir(), 'instructue-prometheus-run-'));
  });
  after(() => {
    data.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('promtool passes mid-run; Prometheus answers the step rate, a step-time quantile and every dashboard query; the final counters match the run folder', async (t) => {
    // Prometheus starts before the job, on the port the control server will take: it scrapes
    // from the job's first second, so the step rate has samples from inside the run however
    // fast the run goes and however slowly Prometheus starts on a loaded machine (started inside
    // the run, it could come up after the last step and see a flat counter).
    const port = await freePort();
    const config = clusterConfig(data.train, { 'train.steps': STEPS, 'train.keep_last': 100, 'control.http_port': port });
    const out = join(root, 'run');
    const p = await startPrometheus(`127.0.0.1:${port}`);
    let checks = new Error('the run never came up') as RunChecks | Error;
    const outcome = await runCluster(config, out, 2, {
      // Awaited before the control server closes: the final scrape sees the finished job.
      during: async ({ coordinator, controlUrl }) => {
        try {
          const job = 'job="instructue"';
          // A checkpoint published and two scrapes with steps in the window.
          await poll('step 8 committed, as Prometheus sees it', async () => ((await scalar(p, `instructue_committed_step{${job}}`)) ?? 0) >= 8 || undefined, 120_000);
          const stepsRate = await poll('a positive step rate', async () => {
            const v = await scalar(p, `rate(instructue_steps_total{${job}}[${WINDOW}])`);
            return v !== undefined && v > 0 ? v : undefined;
          }, 30_000);
          const stepTimeP90 = await poll('a step-time p90', async () => {
            const v = await scalar(p, `histogram_quantile(0.9, sum by (le) (rate(instructue_step_duration_seconds_bucket{${job}}[${WINDOW}])))`);
            return v !== undefined && Number.isFinite(v) && v > 0 ? v : undefined;
          }, 30_000);
          const promtool = promtoolCheckMetrics(await (await fetch(`${controlUrl}/metrics`)).text());
          const dashboard = [];
          for (const t of dashboardTargets()) {
            const expr = t.expr.replaceAll('$job', 'instructue').replaceAll('$__rate_interval', WINDOW).replaceAll('$__range', '60s');
            const result = await p.query(expr).then((r) => ({ series: r.length, error: null }), (err: Error) => ({ series: 0, error: err.message }));
            dashboard.push({ panel: t.panel, expr: t.expr, ...result });
          }
          await coordinator.outcome;
          const final = parseBody(await (await fetch(`${controlUrl}/metrics`)).text());
          checks = { promtool, stepsRate, stepTimeP90, dashboard, final };
        } catch (err) {
          checks = new Error(`${(err as Error).message}\nprometheus said: ${p.output().slice(-1500)}`);
        }
      },
    }).finally(() => p.stop());
    assert.deepEqual(outcome, { state: 'done', step: STEPS, reason: null });
    if (checks instanceof Error) throw checks;
    const { promtool, stepsRate, stepTimeP90, dashboard, final } = checks;

    assert.deepEqual(promtool, { status: 0, output: '' }, 'promtool check metrics on the mid-run body');
    assert.ok(stepsRate > 0 && stepTimeP90 > 0, `rate ${stepsRate}/s, p90 ${stepTimeP90} s`);
    // Every dashboard query runs; only those on fault-only series (absent in a clean run) may be empty.
    const faultOnly = (expr: string) => promqlRefs(expr).selectors.every((s) => ['instructue_worker_losses_total', 'instructue_worker_rejoins_total'].includes(s.metric));
    assert.deepEqual(dashboard.filter((q) => q.error !== null || (q.series === 0 && !faultOnly(q.expr))), []);
    assert.ok(dashboard.length >= 30);
    const empty = dashboard.filter((q) => q.series === 0).map((q) => q.expr);
    t.diagnostic(`rate(steps) ${stepsRate.toFixed(3)}/s, step-time p90 ${stepTimeP90.toFixed(3)} s; ${dashboard.length} dashboard queries ran, ${empty.length} empty (fault-only): ${empty.join(' | ')}`);

    // The final counters against the run folder.
    const lines = readJsonLines<{ step: number; step_ms: number; allReduce_ms: number; tokens: number }>(join(out, 'metrics.jsonl'));
    const consumed = readJsonLines<{ ids: string[] }>(join(out, 'consumed.jsonl'));
    assert.equal(lines.length, STEPS);
    const seconds = (key: 'step_ms' | 'allReduce_ms') => lines.reduce((s, l) => s + l[key] / 1000, 0);
    const checkpoints = readdirSync(join(out, 'checkpoints')).filter((d) => d.startsWith('step-'));
    const checkpointBytes = checkpoints.reduce((n, d) => n + ['trainable.safetensors', 'optimizer.safetensors', 'state.json'].reduce((m, f) => m + statSync(join(out, 'checkpoints', d, f)).size, 0), 0);
    // The per-rank series, as `{worker="…",rank="…"}`: one per worker, ranks 0 and 1.
    const ranks = [...final.keys()].filter((k) => k.startsWith('instructue_worker_compute_duration_seconds_count{')).map((k) => k.slice(k.indexOf('{'))).sort();
    assert.deepEqual(ranks.map((l) => /rank="(\d)"/.exec(l)?.[1]).sort(), ['0', '1']);
    assert.equal(new Set(ranks.map((l) => /worker="([^"]+)"/.exec(l)?.[1])).size, 2);
    const pick = (names: string[]) => Object.fromEntries(names.map((n) => [n, final.get(n)]));
    assert.deepEqual(pick([
      'instructue_job_state{state="done"}', 'instructue_committed_step', 'instructue_steps_total', 'instructue_samples_total',
      'instructue_step_duration_seconds_count', 'instructue_step_duration_seconds_sum', 'instructue_step_phase_duration_seconds_sum{phase="all_reduce"}',
      ...ranks.map((l) => `instructue_worker_compute_duration_seconds_count${l}`), ...ranks.map((l) => `instructue_worker_wait_duration_seconds_count${l}`),
      'instructue_membership_epochs_total', 'instructue_rollbacks_total{cause="fault"}', 'instructue_rollbacks_total{cause="lost"}', 'instructue_rollbacks_total{cause="rejoined"}',
      'instructue_rewinds_total', 'instructue_resumes_total', 'instructue_checkpoints_total', 'instructue_checkpoint_written_bytes_total', 'instructue_checkpoint_duration_seconds_count',
      ...ranks.flatMap((l) => [`instructue_collective_aborts_total${l.replace('}', ',reason="timeout"}')}`, `instructue_collective_aborts_total${l.replace('}', ',reason="aborted"}')}`]),
    ]), {
      'instructue_job_state{state="done"}': 1, instructue_committed_step: STEPS, instructue_steps_total: STEPS,
      instructue_samples_total: consumed.reduce((n, c) => n + c.ids.length, 0),
      instructue_step_duration_seconds_count: STEPS, instructue_step_duration_seconds_sum: seconds('step_ms'), 'instructue_step_phase_duration_seconds_sum{phase="all_reduce"}': seconds('allReduce_ms'),
      ...Object.fromEntries(ranks.map((l) => [`instructue_worker_compute_duration_seconds_count${l}`, STEPS])), ...Object.fromEntries(ranks.map((l) => [`instructue_worker_wait_duration_seconds_count${l}`, STEPS])),
      instructue_membership_epochs_total: 1, 'instructue_rollbacks_total{cause="fault"}': 0, 'instructue_rollbacks_total{cause="lost"}': 0, 'instructue_rollbacks_total{cause="rejoined"}': 0,
      instructue_rewinds_total: 0, instructue_resumes_total: 0,
      instructue_checkpoints_total: checkpoints.length, instructue_checkpoint_written_bytes_total: checkpointBytes, instructue_checkpoint_duration_seconds_count: checkpoints.length,
      ...Object.fromEntries(ranks.flatMap((l) => [[`instructue_collective_aborts_total${l.replace('}', ',reason="timeout"}')}`, 0], [`instructue_collective_aborts_total${l.replace('}', ',reason="aborted"}')}`, 0]])),
    });
    assert.equal(checkpoints.length, STEPS / 4, 'train.checkpoint_every = 4');
    // Both ranks' tokens: more than rank 0's own, which its metrics lines count.
    assert.ok(final.get('instructue_tokens_total')! > lines.reduce((n, l) => n + l.tokens, 0));
    for (const l of ranks) assert.ok(final.get(`instructue_collective_sent_bytes_total${l}`)! > 0 && final.get(`instructue_collective_received_bytes_total${l}`)! > 0, l);
    assert.deepEqual([...final.keys()].filter((k) => /instructue_worker_(losses|rejoins)_total/.test(k)), []);
  });
});
