/**
 * serveJob: a job's status, history, metric families, events and control handler behind a real
 * control server configured from the `control` config section.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/load.js';
import { Counter } from '../../src/control/metrics-registry.js';
import { renderMetrics } from '../../src/control/prometheus.js';
import { serveJob, type ControlledJob } from '../../src/control/serve-job.js';
import type { ControlRequest, StatusEvent } from '../../src/control/status.js';
import type { SocketMessage } from '../../src/control/wire.js';
import { silentLogger } from '../../src/log.js';
import { fixedHistory, fixedStatus, metricsAt } from './fixture-status.js';

class RecordingJob implements ControlledJob {
  readonly listeners = new Set<(e: StatusEvent) => void>();
  readonly requests: ControlRequest[] = [];
  status = fixedStatus;
  metricsHistory = fixedHistory;
  readonly steps = new Counter('instructue_steps_total', 'Steps.');
  metricFamilies() {
    return [this.steps.family()];
  }
  async control(request: ControlRequest) {
    this.requests.push(request);
    return { ok: true, message: 'noted' };
  }
  onStatusEvent(listener: (e: StatusEvent) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(e: StatusEvent) {
    for (const l of this.listeners) l(e);
  }
}

describe('serveJob', () => {
  it('serves the job per the control config and forwards its events until closed', async () => {
    const control = loadConfig({ file: 'configs/tiny.json', env: { INSTRUCTUE_TOKEN: 'serve-job-token', INSTRUCTUE_METRICS_PUBLIC: 'false' } }).control;
    const job = new RecordingJob();
    const server = await serveJob(job, control, silentLogger);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${server.url}/metrics`)).status, 401, 'metrics_public=false from the environment');
    // /metrics: the status gauges, then the job's own families, as they are at the scrape.
    job.steps.inc({}, 7);
    const scraped = await (await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer serve-job-token' } })).text();
    assert.equal(scraped, renderMetrics(fixedStatus(), [job.steps.family()]));
    assert.match(scraped, /^instructue_steps_total 7$/m);

    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=serve-job-token`);
    const messages: SocketMessage[] = [];
    const arrived = (n: number) => new Promise<void>((resolve) => {
      const check = () => (messages.length >= n ? resolve() : setTimeout(check, 5));
      check();
    });
    ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as SocketMessage));
    await arrived(1);
    job.emit({ type: 'metrics', line: metricsAt(13) });
    ws.send(JSON.stringify({ type: 'scale', workers: 4 }));
    await arrived(3);
    assert.deepEqual(messages, [
      { type: 'hello', status: fixedStatus(), history: fixedHistory() },
      { type: 'metrics', line: metricsAt(13) },
      { type: 'reply', reply: { ok: true, message: 'noted' } },
    ]);
    assert.deepEqual(job.requests, [{ type: 'scale', workers: 4 }]);
    ws.close();
    await server.close();
    assert.equal(job.listeners.size, 0, 'close() unsubscribes');
  });
});
