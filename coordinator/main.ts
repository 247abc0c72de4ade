/**
 * `instructue coordinator --config FILE --out RUN --nats URL [--resume] [--allow-config-change]
 *  [--workers N] [--set KEY=VALUE ...]` — the job's coordinator as its own process (Kubernetes).
 * SIGTERM/SIGINT: checkpointed stop of the whole job.
 */
import { configFlagOptions, parseFlags, required } from '../src/config/flags.js';
import { loadConfig } from '../src/config/load.js';
import { runCoordinator } from '../src/coordinator/run.js';
import { createLogger } from '../src/log.js';

export const usage = `usage: instructue coordinator --config FILE --out RUN [--nats URL] [flags]

  --config FILE           run config
  --out RUN               run folder on storage shared with the workers
  --nats URL              NATS server (or INSTRUCTUE_NATS_URL / dist.nats_url)
  --workers N             workers to wait for (dist.workers)
  --resume                continue from the newest valid checkpoint in RUN
  --allow-config-change   resume even if the configuration changed
  --set KEY=VALUE         any config key (repeatable)`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    config: { type: 'string' }, out: { type: 'string' }, ...configFlagOptions(['nats', 'workers']),
    resume: { type: 'boolean' }, 'allow-config-change': { type: 'boolean' }, set: { type: 'string', multiple: true },
  }, usage);
  const config = loadConfig({ file: required(values.config, 'config', usage), flags: values, sets: values.set });
  const log = createLogger({ job: config.dist.job, role: 'coordinator' });
  const natsUrl = required(config.dist.nats_url, 'nats', usage);
  const outcome = await runCoordinator({
    config, natsUrl, out: required(values.out, 'out', usage), resume: Boolean(values.resume),
    allowConfigChange: Boolean(values['allow-config-change']), log,
    onReady: (coordinator) => {
      const stop = () => coordinator.requestStop();
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
  });
  log.info('coordinator exiting', { ...outcome });
  return outcome.state === 'failed' ? 1 : 0;
}
