/**
 * @module control/serve-job
 * Puts a running job behind the control server as the `control` config section says: its
 * status and metrics history for `/api/status`, `/metrics` and the socket's hello, its status
 * events broadcast to every socket, and ControlRequests handed to it. The coordinator's
 * programs call this once the coordinator is up, and close the result when the job ends.
 */
import type { ControlConfig } from '../config/sections/control.js';
import type { Logger } from '../log.js';
import type { MetricFamily } from './metrics-registry.js';
import { startControlServer, type ControlServer } from './server.js';
import type { ControlReply, ControlRequest, JobStatus, MetricsLine, StatusEvent } from './status.js';

/** What the control server needs from a job (the Coordinator has exactly these). */
export interface ControlledJob {
  status(): JobStatus;
  metricsHistory(): MetricsLine[];
  /** Counters and histograms for `/metrics` (the Coordinator's `JobMetrics`). */
  metricFamilies?(): readonly MetricFamily[];
  control(request: ControlRequest): Promise<ControlReply>;
  /** Subscribes to status events; returns the unsubscribe function. */
  onStatusEvent(listener: (event: StatusEvent) => void): () => void;
}

/** Starts the control server for `job`; `close()` also stops forwarding its events. */
export async function serveJob(job: ControlledJob, control: Pick<ControlConfig, 'host' | 'http_port' | 'token' | 'metrics_public'>, log: Logger): Promise<ControlServer> {
  const server = await startControlServer({
    host: control.host,
    port: control.http_port,
    token: control.token === '' ? null : control.token,
    metricsPublic: control.metrics_public,
    status: () => job.status(),
    history: () => job.metricsHistory(),
    metrics: () => job.metricFamilies?.() ?? [],
    onControl: (request) => job.control(request),
    log,
  });
  const unsubscribe = job.onStatusEvent((event) => server.broadcast(event));
  return {
    ...server,
    async close() {
      unsubscribe();
      await server.close();
    },
  };
}
