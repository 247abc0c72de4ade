/**
 * A scripted job for the dashboard test: a JobStatus that advances one step per `advance()`,
 * with the metrics line, worker timings and checkpoints a coordinator would publish, sent
 * through a real control server's `broadcast`. Deterministic (no clocks in the numbers).
 */
import type { ControlServer } from '../../src/control/server.js';
import type { JobStatus, MetricsLine, WorkerStatus } from '../../src/control/status.js';

export class ScriptedJob {
  readonly history: MetricsLine[] = [];
  readonly status: JobStatus;
  server: ControlServer | null = null;

  constructor(readonly totalSteps: number, readonly checkpointEvery: number) {
    const worker = (rank: number): WorkerStatus => ({
      id: `worker-${rank}`, rank, state: 'joining', host: 'localhost', pid: 1000 + rank, backend: 'wasm', step: 0, computeMs: 0, waitMs: 0, lastSeen: Date.now(),
    });
    this.status = {
      job: 'dashboard-test', state: 'waiting', epoch: 1, step: 0, totalSteps, targetWorkers: 2,
      workers: [worker(0), worker(1)], last: null, checkpoints: [], startedAt: new Date().toISOString(), reason: null,
    };
  }

  /** One committed step: metrics, worker timings, a checkpoint every `checkpointEvery` steps. */
  advance(): void {
    const s = this.status;
    const step = s.step + 1;
    const lossLm = 3 * Math.exp(-step / 12) + 0.4;
    const lossCl = 2 * Math.exp(-step / 8) + 0.1;
    const line: MetricsLine = {
      step, epoch: Math.floor(step / 10), loss: lossLm + lossCl, loss_lm: lossLm, loss_cl: lossCl,
      lr: 0.003 * Math.min(1, step / 4), tokens: 2048, tokens_per_s: 4000 + 10 * step, step_ms: 500,
    };
    s.state = step >= s.totalSteps ? 'done' : 'running';
    s.step = step;
    s.last = line;
    s.workers = s.workers.map((w) => ({ ...w, state: 'training', step, computeMs: 400 + 30 * w.rank!, waitMs: 100 - 30 * w.rank!, lastSeen: Date.now() }));
    this.history.push(line);
    this.server?.broadcast({ type: 'metrics', line });
    if (step % this.checkpointEvery === 0) {
      const checkpoint = { step, path: `/data/run/checkpoints/step-${String(step).padStart(8, '0')}`, savedAt: new Date().toISOString() };
      s.checkpoints.push(checkpoint);
      this.server?.broadcast({ type: 'checkpoint', checkpoint });
    }
    this.server?.broadcast({ type: 'status', status: structuredClone(s) });
  }
}
