/**
 * Test helper: the Grafana dashboard of k8s/grafana (its panels' queries and variables), and
 * the series an exporter body offers (metric name → label names), for checking one against the
 * other.
 */
import { readFileSync } from 'node:fs';

export const DASHBOARD_FILE = 'k8s/grafana/instructue-dashboard.json';

export interface DashboardTarget {
  panel: string;
  expr: string;
  legendFormat: string;
}

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string; legendFormat?: string }>;
  panels?: Panel[];
}

export interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string | { query: string }; definition?: string }> };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every query of every panel (rows' nested panels included). */
export function dashboardTargets(dashboard: Dashboard = readDashboard()): DashboardTarget[] {
  const walk = (panels: Panel[]): DashboardTarget[] => panels.flatMap((p) => [
    ...(p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr, legendFormat: t.legendFormat ?? '' })),
    ...walk(p.panels ?? []),
  ]);
  return walk(dashboard.panels);
}

/** The dashboard's query variables as `label_values(metric, label)` pairs. @throws on another kind of variable query */
export function variableQueries(dashboard: Dashboard = readDashboard()): Array<{ name: string; metric: string; label: string }> {
  return dashboard.templating.list.filter((v) => v.type === 'query').map((v) => {
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*), *([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(q);
    if (!m) throw new Error(`variable ${v.name}: only label_values(metric, label) queries are understood, got ${q}`);
    return { name: v.name, metric: m[1]!, label: m[2]! };
  });
}

/** Labels Prometheus itself puts on every scraped series (from the scrape config). */
export const TARGET_LABELS = ['job', 'instance'];

/** Metric name → label names, from an exposition body. */
export function offeredSeries(body: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? /.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = series.get(m[1]!) ?? new Set(TARGET_LABELS);
    for (const pair of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(pair[1]!);
    series.set(m[1]!, labels);
  }
  return series;
}
