/**
 * @module cli/commands/worker
 * `instructue worker …`: the thin program in worker/main.ts.
 */
import { main, usage } from '../../../worker/main.js';
import type { Command } from '../command.js';

const command: Command = { name: 'worker', usage, run: main };
export default command;
