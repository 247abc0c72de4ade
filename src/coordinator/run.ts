/**
 * @module coordinator/run
 * Runs a coordinator against a NATS server until its job ends: connect, open the job store,
 * start, serve the outward control API when a control server is given, wait, close.
 */
import { connectNats, openJobStore } from '../cluster/connect.js';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { ControlReply } from '../control/status.js';
import type { Logger } from '../log.js';
import { Coordinator, type JobOutcome } from './coordinator.js';

export interface RunCoordinatorOptions {
  config: Frozen<InstructueConfig>;
  natsUrl: string;
  out: string;
  resume: boolean;
  allowConfigChange: boolean;
  log: Logger;
  scaleWorkers?: (workers: number) => Promise<ControlReply>;
  /** Called once the coordinator listens (e.g. to hook signals or a control server to it). */
  onReady?: (coordinator: Coordinator) => void | Promise<void>;
}

export async function runCoordinator(opts: RunCoordinatorOptions): Promise<JobOutcome> {
  const transport = await connectNats(opts.natsUrl, `coordinator-${opts.config.dist.job}`, opts.log);
  try {
    const kv = await openJobStore(transport, opts.config.dist.job, opts.log);
    const coordinator = new Coordinator({ transport, kv, config: opts.config, out: opts.out, resume: opts.resume, allowConfigChange: opts.allowConfigChange, log: opts.log, scaleWorkers: opts.scaleWorkers });
    await coordinator.start();
    try {
      await opts.onReady?.(coordinator);
      const outcome = await coordinator.outcome;
      // Keep answering for a few heartbeats so every worker learns the job is over.
      await new Promise((r) => setTimeout(r, 3 * opts.config.dist.heartbeat_ms));
      return outcome;
    } finally {
      await coordinator.close();
    }
  } finally {
    await transport.close();
  }
}
