/**
 * `instructue worker --nats URL --job NAME [--id ID] [--backend NAME]` — one training worker.
 * It needs no config file: the coordinator sends the derived assignment. The id defaults to
 * $POD_NAME (Kubernetes) or host-pid. SIGTERM/SIGINT: leave the job at the next step boundary.
 */
import { hostname } from 'node:os';
import { parseFlags, required } from '../src/config/flags.js';
import { createLogger } from '../src/log.js';
import { connectNats } from '../src/transport/connect.js';
import { natsClientSettingsFromEnv } from '../src/transport/nats-credentials.js';
import { exitWithParent } from '../src/worker/parent-watch.js';
import { WorkerAgent } from '../src/worker/worker-agent.js';

export const usage = `usage: instructue worker --nats URL --job NAME [--id ID] [--backend NAME]

  --nats URL       NATS server (or INSTRUCTUE_NATS_URL)
  --job NAME       job name (must match the coordinator's dist.job; or INSTRUCTUE_JOB)
  --id ID          stable worker id (default $POD_NAME, else host-pid)
  --backend NAME   override the run's tfjs backend on this worker (auto | tensorflow | wasm | cpu)`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { nats: { type: 'string' }, job: { type: 'string' }, id: { type: 'string' }, backend: { type: 'string' } }, usage);
  const natsUrl = required(values.nats ?? process.env.INSTRUCTUE_NATS_URL, 'nats', usage);
  const job = required(values.job ?? process.env.INSTRUCTUE_JOB, 'job', usage);
  const workerId = values.id ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const log = createLogger({ job, role: 'worker', worker: workerId });
  const unwatch = process.env.INSTRUCTUE_EXIT_WITH_PARENT === '1' ? exitWithParent(log) : () => {};
  // No config file: credentials and TLS files come from the environment (INSTRUCTUE_NATS_*).
  const settings = natsClientSettingsFromEnv();
  const transport = await connectNats(natsUrl, `worker-${workerId}`, settings, log);
  const agent = new WorkerAgent(transport, { job, workerId, backend: values.backend, natsUrl, settings, log });
  const leave = () => agent.leave();
  process.on('SIGTERM', leave);
  process.on('SIGINT', leave);
  try {
    return await agent.run();
  } finally {
    await transport.close();
    unwatch();
  }
}
