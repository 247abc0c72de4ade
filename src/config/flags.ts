/**
 * @module config/flags
 * Command-line flags, parsed once with node:util `parseArgs`: each command's own flags plus the
 * config keys that declare an `arg` in the schema (`--steps` → `train.steps`), which `loadConfig`
 * turns into overrides of those keys (naming the flag when a value is wrong), and `--set KEY=VALUE`
 * for any other key. Programs (the CLI commands and the two mains) all use these helpers.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { schemaLeaves, type SchemaLeaf } from './schema-leaves.js';

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

/** Every config key with an `arg` in the schema: flag name → its schema entry. */
export function configFlagKeys(): Map<string, SchemaLeaf> {
  return new Map(schemaLeaves().flatMap((leaf) => (leaf.arg ? [[leaf.arg, leaf] as const] : [])));
}

/**
 * A flag's text as the value of its key: numbers for numeric keys, refusing what convict would
 * quietly round (`--global-batch 1.5` would otherwise become 1).
 */
export function flagValue(leaf: SchemaLeaf, raw: unknown): unknown {
  if (typeof raw !== 'string' || typeof leaf.default !== 'number') return raw;
  const n = Number(raw);
  const integer = leaf.format === 'nat' || leaf.format === 'int' || leaf.format === 'port';
  if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${leaf.arg} must be ${integer ? 'an integer' : 'a number'} (config key ${leaf.key}); got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** `parseArgs` options for the named config flags (all take a value, converted by the schema's format). */
export function configFlagOptions<const N extends string>(names: readonly N[]): Record<N, { type: 'string' }> {
  const known = configFlagKeys();
  const out = {} as Record<N, { type: 'string' }>;
  for (const name of names) {
    if (!known.has(name)) throw new Error(`--${name} is not a config flag (no schema key has arg "${name}")`);
    out[name] = { type: 'string' };
  }
  return out;
}

/** `--set a.b=1` → {'a.b': 1}; values are parsed as JSON when they parse, else kept as strings. */
export function parseSets(sets: readonly string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of sets ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set expects KEY=VALUE; got ${JSON.stringify(item)}`);
    const raw = item.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a bare string such as a path
    }
    out[item.slice(0, eq)] = value;
  }
  return out;
}
