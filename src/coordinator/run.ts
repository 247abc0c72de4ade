/**
 * @module coordinator/run
 * Runs a coordinator against a NATS server until its job ends: connect, open the job store,
 * start, serve the outward control API when a control server is given, wait, close.
 */
import { connectNats, openJobStore } from '../transport/connect.js';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { ControlReply } from '../control/status.js';
import { serveJob } from '../control/serve-job.js';
import type { Logger } from '../log.js';
import { Coordinator, type JobOutcome } from './coordinator.js';

export interface RunCoordinatorOptions {
  config: Frozen<InstructueConfig>;
  natsUrl: string;
  out: string;
  resume: boolean;
  allowConfigChange: boolean;
  /** Resume even if the training data changed since the checkpoint (--allow-data-change). */
  allowDataChange?: boolean;
  log: Logger;
  scaleWorkers?: (workers: number) => Promise<ControlReply>;
  /** Called once the coordinator and its control server listen (e.g. to hook signals). */
  onReady?: (coordinator: Coordinator, controlUrl: string) => void | Promise<void>;
}

export async function runCoordinator(opts: RunCoordinatorOptions): Promise<JobOutcome> {
  const transport = await connectNats(opts.natsUrl, `coordinator-${opts.config.dist.job}`, opts.config, opts.log);
  try {
    const kv = await openJobStore(transport, opts.config.dist.job, opts.log);
    const { natsUrl: _url, onReady: _ready, ...coordinatorOptions } = opts;
    const coordinator = new Coordinator({ transport, kv, ...coordinatorOptions });
    await coordinator.start();
    const server = await serveJob(coordinator, opts.config.control, opts.log);
    try {
      await opts.onReady?.(coordinator, server.url);
      const outcome = await coordinator.outcome;
      // Keep answering for a few heartbeats so every worker learns the job is over.
      await new Promise((r) => setTimeout(r, 3 * opts.config.dist.heartbeat_ms));
      return outcome;
    } finally {
      await server.close();
      await coordinator.close();
    }
  } finally {
    await transport.close();
  }
}
