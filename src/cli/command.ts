/**
 * @module cli/command
 * The shape of one `instructue <command>` and the shared flag helpers.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

export interface Command {
  name: string;
  /** One line for `instructue help`. */
  summary: string;
  /** Usage text shown by `instructue <command> --help` and on wrong usage. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with errors turned into UsageError that shows the command's usage. */
export function parseFlags<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`);
  }
}

/** A flag that must be present. */
export function required<T>(value: T | undefined, flag: string, usage: string): T {
  if (value === undefined || value === '') throw new UsageError(`missing --${flag}\n\n${usage}`);
  return value;
}

/** Parse an integer flag, naming the flag on error. */
export function intFlag(value: string | undefined, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${flag} must be an integer; got ${JSON.stringify(value)}`);
  return n;
}

/** Parse a number flag, naming the flag on error. */
export function numberFlag(value: string | undefined, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number; got ${JSON.stringify(value)}`);
  return n;
}
