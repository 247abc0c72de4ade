/**
 * @module coordinator/worker-config
 * The derived assignment a worker receives: the run config without what only the coordinator
 * needs (control ports and tokens, the NATS URL the worker already has), and the run folder.
 */
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { WorkerAssignment } from '../protocol/messages.js';

export function workerAssignment(config: Frozen<InstructueConfig>, runDir: string): WorkerAssignment {
  const { dist, ...rest } = JSON.parse(JSON.stringify(config)) as Record<string, unknown> & { dist: Record<string, unknown> };
  delete rest.control;
  const { nats_url: _url, ...workerDist } = dist;
  return { config: { ...rest, dist: workerDist }, runDir };
}
