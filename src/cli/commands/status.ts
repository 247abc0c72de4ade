/**
 * @module cli/commands/status
 * `instructue status --url URL [--token T] [--json] [--watch]`: the job's state, step, losses,
 * throughput, workers and last checkpoint from the coordinator's control server. `--watch`
 * follows the ws stream until the job ends (exit 0 when done or stopped, 1 when failed).
 */
import { fetchStatus, TARGET_USAGE, targetFromFlags, watchSocket } from '../../control/client.js';
import { formatStatus } from '../../control/format-status.js';
import type { JobState, JobStatus } from '../../control/status.js';
import { parseFlags } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue status --url URL [--token T] [--json] [--watch]

Shows a running job: state, step/total, losses, learning rate, tokens/s, each worker's rank,
state, step and compute/wait milliseconds, and the last checkpoint.

${TARGET_USAGE}
  --json         print the status as JSON (with --watch: one JSON message per line)
  --watch        keep following the job until it ends`;

const ENDED: readonly JobState[] = ['done', 'stopped', 'failed'];
/** Redraws at most this often: a fast job sends a status per step. */
const REDRAW_MS = 500;

const command: Command = {
  name: 'status',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, watch: { type: 'boolean' } }, usage);
    const target = targetFromFlags(values.url, values.token, usage);
    if (!values.watch) {
      const status = await fetchStatus(target);
      console.log(values.json ? JSON.stringify(status) : formatStatus(status));
      return 0;
    }
    // A holder, not a `let`: TypeScript does not see assignments made inside the callback.
    const seen: { status: JobStatus | null } = { status: null };
    let drawn = 0;
    const clear = process.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
    const draw = (force: boolean) => {
      if (!seen.status || (!force && Date.now() - drawn < REDRAW_MS)) return;
      drawn = Date.now();
      console.log(`${clear}${formatStatus(seen.status)}${clear ? '' : '\n'}`);
    };
    await watchSocket(target, (message, stop) => {
      if (values.json) console.log(JSON.stringify(message));
      const s = seen.status;
      if (message.type === 'hello' || message.type === 'status') seen.status = message.status;
      else if (message.type === 'metrics' && s) seen.status = { ...s, last: message.line };
      else if (message.type === 'checkpoint' && s) seen.status = { ...s, checkpoints: [...s.checkpoints, message.checkpoint] };
      const ended = seen.status !== null && ENDED.includes(seen.status.state);
      if (!values.json) draw(ended || message.type === 'hello');
      if (ended) stop();
    });
    const final = seen.status;
    if (final === null) return 1;
    if (!ENDED.includes(final.state)) console.error(`instructue: the coordinator closed the connection while the job was ${final.state}`);
    return final.state === 'done' || final.state === 'stopped' ? 0 : 1;
  },
};

export default command;
