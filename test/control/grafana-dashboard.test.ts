/**
 * The Grafana dashboard (k8s/grafana/instructue-dashboard.json) against the exporter: every
 * query refers only to series `/metrics` emits, with labels those series have, and its legends
 * name only labels the query keeps; its variables read emitted labels; it covers throughput,
 * losses, step-time quantiles, per-rank stragglers, faults and checkpoints; its panels do not
 * overlap; and `kubectl kustomize k8s/grafana` makes the sidecar ConfigMap holding the file
 * unchanged (valid offline against the Kubernetes schema, test/k8s/schema.ts). The series set is a real render: the status gauges of a fixed status and the
 * counters and histograms of the scripted job (every family filled). The same queries are run
 * by a real Prometheus during a real run in prometheus-real-run.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { renderMetrics } from '../../src/control/prometheus.js';
import type { K8sObject } from '../k8s/render.js';
import { schemaErrors, unknownFieldErrors } from '../k8s/schema.js';
import { scriptedJob } from '../coordinator/scripted-job.js';
import { fixedStatus } from './fixture-status.js';
import { DASHBOARD_FILE, dashboardTargets, offeredSeries, readDashboard, variableQueries } from './grafana-dashboard.js';
import { onPath } from './prometheus-server.js';
import { promqlRefs } from './promql-refs.js';

const offered = offeredSeries(renderMetrics(fixedStatus(), scriptedJob().metrics.families()));

/** What is wrong with one query against the offered series (empty: nothing). */
function problems(expr: string, legendFormat = ''): string[] {
  const refs = promqlRefs(expr);
  const found: string[] = [];
  const known = new Set<string>();
  for (const s of refs.selectors) {
    const labels = offered.get(s.metric);
    if (!labels) {
      found.push(`${s.metric} is not emitted`);
      continue;
    }
    labels.forEach((l) => known.add(l));
    for (const l of s.labels) if (!labels.has(l)) found.push(`${s.metric} has no label ${l}`);
  }
  for (const l of refs.grouping) if (!known.has(l)) found.push(`grouping by ${l}, which none of its series has`);
  const kept = refs.grouping.length > 0 ? new Set(refs.grouping) : known;
  for (const m of legendFormat.matchAll(/\{\{ *([a-zA-Z_][a-zA-Z0-9_]*) *\}\}/g)) if (!kept.has(m[1]!)) found.push(`legend names ${m[1]}, which the query does not keep`);
  return found;
}

describe('Grafana dashboard', () => {
  const dashboard = readDashboard();
  const targets = dashboardTargets(dashboard);

  it('queries only series the exporter emits, with their labels', () => {
    assert.ok(targets.length >= 30, `only ${targets.length} queries`);
    const wrong = targets.map((t) => ({ panel: t.panel, expr: t.expr, problems: problems(t.expr, t.legendFormat) })).filter((t) => t.problems.length > 0);
    assert.deepEqual(wrong, []);
    for (const v of variableQueries(dashboard)) {
      assert.ok(offered.get(v.metric)?.has(v.label), `variable ${v.name}: ${v.metric} with label ${v.label}`);
    }
    // Every query filters on the scrape job chosen in the dashboard's variable.
    for (const t of targets) for (const s of promqlRefs(t.expr).selectors) assert.ok(t.expr.includes(`${s.metric}{job=~"$job"`), `${t.panel}: ${s.metric} without the job filter`);
  });

  it('catches a query on a series or label the exporter does not have (the check can fail)', () => {
    assert.deepEqual(problems('sum(rate(instructue_step_total[$__rate_interval]))'), ['instructue_step_total is not emitted']);
    assert.deepEqual(problems('sum by (pod) (instructue_loss{kind="lm"})'), ['grouping by pod, which none of its series has']);
    assert.deepEqual(problems('instructue_worker_step{phase="x"}', '{{worker}}'), ['instructue_worker_step has no label phase']);
    assert.deepEqual(problems('sum by (worker) (instructue_worker_step)', '{{rank}}'), ['legend names rank, which the query does not keep']);
    assert.deepEqual(problems('instructue_step_milliseconds'), ['instructue_step_milliseconds is not emitted']);
    assert.throws(() => promqlRefs('rate(instructue_steps_total[$__rate_interval]) * $factor'), /unexpected "\$"/);
    assert.throws(() => promqlRefs('made_up_fn(instructue_steps_total)'), /unknown function made_up_fn/);
  });

  it('shows throughput, losses, step-time quantiles, per-rank stragglers, faults and checkpoints', () => {
    const uses = (pattern: RegExp) => targets.filter((t) => pattern.test(t.expr)).map((t) => t.panel);
    const covered = {
      throughput: uses(/rate\(instructue_(steps|samples|tokens)_total/),
      losses: uses(/instructue_loss\{/),
      stepQuantiles: uses(/histogram_quantile\(0\.9, sum by \(le\) \(rate\(instructue_step_duration_seconds_bucket/),
      allReduce: uses(/instructue_step_phase_duration_seconds_bucket\{job=~"\$job",phase="all_reduce"\}/),
      stragglers: uses(/by \(le, worker, rank\) \(rate\(instructue_worker_compute_duration_seconds_bucket|by \(worker, rank\) \(rate\(instructue_worker_(compute|wait)_duration_seconds_sum/),
      faults: uses(/instructue_(rollbacks|worker_losses|worker_rejoins|collective_aborts|collective_retransmit_requests|rewound_steps)_total/),
      checkpoints: uses(/instructue_checkpoint/),
    };
    for (const [what, panels] of Object.entries(covered)) assert.ok(panels.length > 0, `no panel shows ${what}`);
    assert.ok(covered.faults.length >= 6, `fault queries: ${covered.faults.length}`);
  });

  it('has a stable uid, unique panel ids and a layout without overlaps', () => {
    assert.equal(dashboard.uid, 'instructue-training');
    const panels = (dashboard.panels as unknown as Array<{ id: number; title: string; gridPos: { x: number; y: number; w: number; h: number } }>);
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length);
    for (const a of panels) {
      assert.ok(a.gridPos.x >= 0 && a.gridPos.x + a.gridPos.w <= 24, `${a.title} fits the 24-column grid`);
      for (const b of panels) {
        if (a === b) continue;
        const apart = a.gridPos.x + a.gridPos.w <= b.gridPos.x || b.gridPos.x + b.gridPos.w <= a.gridPos.x || a.gridPos.y + a.gridPos.h <= b.gridPos.y || b.gridPos.y + b.gridPos.h <= a.gridPos.y;
        assert.ok(apart, `${a.title} overlaps ${b.title}`);
      }
    }
  });

  it('kustomize makes the sidecar ConfigMap with the file unchanged, valid against the Kubernetes schema', { skip: onPath('kubectl') ? false : 'kubectl not on PATH (apt-get install kubernetes-client; ./scripts/setup.sh --with-test-tools installs it)' }, async () => {
    const run = spawnSync('kubectl', ['kustomize', 'k8s/grafana'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const objects = parseAllDocuments(run.stdout).map((d) => d.toJSON() as { kind: string; metadata: { name: string; namespace: string; labels: Record<string, string> }; data: Record<string, string> });
    assert.deepEqual(objects.map((o) => [o.kind, o.metadata.name, o.metadata.namespace, o.metadata.labels]), [
      ['ConfigMap', 'instructue-grafana-dashboard', 'instructue', { 'app.kubernetes.io/part-of': 'instructue', grafana_dashboard: '1' }],
    ]);
    assert.equal(objects[0]!.data['instructue-dashboard.json'], readFileSync(DASHBOARD_FILE, 'utf8'));
    const asK8s = objects as unknown as K8sObject[];
    assert.deepEqual(await schemaErrors(asK8s[0]!), []);
    assert.deepEqual(unknownFieldErrors(asK8s), []);
  });
});
