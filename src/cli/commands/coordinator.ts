/**
 * @module cli/commands/coordinator
 * `instructue coordinator …`: the thin program in coordinator/main.ts.
 */
import { main, usage } from '../../../coordinator/main.js';
import type { Command } from '../command.js';

const command: Command = { name: 'coordinator', summary: 'run a job\'s coordinator (membership, commits, checkpoints) against NATS', usage, run: main };
export default command;
