/**
 * @module cli/command
 * The shape of one `instructue <command>`. Its one-line summary lives once, in the command table
 * of src/cli/main.ts (so `instructue help` loads no command); flag helpers live in
 * src/config/flags.ts (the two program mains use them too).
 */

export interface Command {
  name: string;
  /** Usage text shown by `instructue <command> --help` and on wrong usage. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}
