/**
 * @module cli/commands/stop
 * `instructue stop --url URL [--token T]`: asks the coordinator for a checkpointed stop (all
 * ranks finish the current step, save one checkpoint, exit 0); `--resume` continues later.
 */
import { sendControl, TARGET_USAGE, targetFromFlags } from '../../control/client.js';
import { parseFlags } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue stop --url URL [--token T] [--json]

Stops the job after the current step and a checkpoint (the same path as SIGTERM).

${TARGET_USAGE}
  --json         print the coordinator's reply as JSON`;

const command: Command = {
  name: 'stop',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } }, usage);
    const reply = await sendControl(targetFromFlags(values.url, values.token, usage), { type: 'stop' });
    console.log(values.json ? JSON.stringify(reply) : reply.message);
    return reply.ok ? 0 : 1;
  },
};

export default command;
