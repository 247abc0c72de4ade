/**
 * @module cli/commands/scale
 * `instructue scale --workers N --url URL [--token T]`: sets the number of workers the job
 * wants. The coordinator re-forms the membership at a step boundary (new epoch, shards
 * re-assigned); on Kubernetes, scale the worker StatefulSet instead (docs/kubernetes.md).
 */
import { sendControl, TARGET_USAGE, targetFromFlags } from '../../control/client.js';
import { UsageError } from '../../errors.js';
import { intFlag, parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue scale --workers N --url URL [--token T] [--json]

Changes the number of workers a running job wants (1 <= N <= data.virtual_shards).

  --workers N    the new number of workers
${TARGET_USAGE}
  --json         print the coordinator's reply as JSON`;

const command: Command = {
  name: 'scale',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, { workers: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } }, usage);
    const workers = intFlag(required(values.workers, 'workers', usage), 'workers')!;
    if (workers < 1) throw new UsageError(`--workers must be at least 1; got ${workers}`);
    const reply = await sendControl(targetFromFlags(values.url, values.token, usage), { type: 'scale', workers });
    console.log(values.json ? JSON.stringify(reply) : reply.message);
    return reply.ok ? 0 : 1;
  },
};

export default command;
