/**
 * @module cli/commands/coordinator
 * `instructue coordinator …`: the thin program in coordinator/main.ts.
 */
import { main, usage } from '../../../coordinator/main.js';
import type { Command } from '../command.js';

const command: Command = { name: 'coordinator', usage, run: main };
export default command;
