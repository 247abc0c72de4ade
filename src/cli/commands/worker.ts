/**
 * @module cli/commands/worker
 * `instructue worker …`: the thin program in worker/main.ts.
 */
import { main, usage } from '../../../worker/main.js';
import type { Command } from '../command.js';

const command: Command = { name: 'worker', summary: 'run one training worker (joins the job through NATS)', usage, run: main };
export default command;
