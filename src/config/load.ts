/**
 * @module config/load
 * Builds the frozen, validated config once: defaults, then a JSON file, then environment
 * variables, then command-line flags (config flags and `--set`, parsed by src/config/flags.ts)
 * and explicit overrides. Every problem is reported at once, each naming the key, where its
 * value came from (file, flag) and the fix.
 */
import convict from 'convict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { configFlagKeys, flagValue, parseSets } from './flags.js';
import { schema, type InstructueConfig } from './schema.js';

export interface LoadConfigOptions {
  /** JSON file with a partial config (e.g. configs/tiny.json). */
  file?: string;
  /** A partial config object (e.g. a worker's derived assignment); applied after `file`. */
  object?: object;
  /** Dotted-key overrides applied last, e.g. {'train.steps': 5}. */
  overrides?: Record<string, unknown>;
  /**
   * Parsed command-line flag values (`parseFlags(...).values`): those named like a schema key's
   * `arg` (`steps` → `train.steps`) set that key; other entries are ignored.
   */
  flags?: Record<string, unknown>;
  /** `--set KEY=VALUE` items (JSON values where they parse). */
  sets?: readonly string[];
  /** Environment to read `env` keys from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

export type Frozen<T> = { readonly [K in keyof T]: T[K] extends object ? Frozen<T[K]> : T[K] };

export function loadConfig(options: LoadConfigOptions = {}): Frozen<InstructueConfig> {
  const config = convict(schema, { args: [], env: options.env ?? process.env });
  // Where each command-line value came from, so an error names the flag the user typed.
  const fromFlag = new Map<string, string>();
  if (options.file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(options.file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read config file ${options.file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      config.load(parsed as object);
    } catch (err) {
      throw new ConfigError(`config file ${options.file}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (options.object) {
    try {
      config.load(options.object);
    } catch (err) {
      throw new ConfigError(`config object: ${(err as Error).message}`, { cause: err });
    }
  }
  const set = (key: string, value: unknown, source: string | null) => {
    if (!config.has(key as never)) throw new ConfigError(`${source ? `${source}: ` : ''}unknown config key "${key}"; see configs/README.md for the keys`);
    config.set(key as never, value as never);
    if (source) fromFlag.set(key, source);
  };
  for (const [flag, leaf] of configFlagKeys()) {
    const value = options.flags?.[flag];
    if (value !== undefined) set(leaf.key, flagValue(leaf, value), `--${flag}`);
  }
  for (const [key, value] of Object.entries(parseSets(options.sets))) set(key, value, `--set ${key}`);
  for (const [key, value] of Object.entries(options.overrides ?? {})) set(key, value, null);
  try {
    config.validate({ allowed: 'strict' });
  } catch (err) {
    const sources = [options.file, fromFlag.size ? 'command-line flags' : null].filter(Boolean);
    const where = sources.length ? ` (from ${sources.join(' and ')})` : '';
    const lines = (err as Error).message.split('\n').map((line) => {
      const key = line.split(':')[0]!.trim();
      return fromFlag.has(key) ? `${line} [set by ${fromFlag.get(key)}]` : line;
    });
    throw new ConfigError(`invalid configuration${where}:\n${lines.join('\n')}\nFix the keys above (configs/README.md documents each one).`, { cause: err });
  }
  const props = config.getProperties() as InstructueConfig;
  checkCrossField(props);
  return deepFreeze(props);
}

/** Rules that involve more than one key. */
function checkCrossField(c: InstructueConfig): void {
  const problems: string[] = [];
  const d = c.model.decoder;
  if (!c.model.decoder.hf_dir) {
    if (d.heads % d.kv_heads !== 0) problems.push(`model.decoder.heads (${d.heads}) must be a multiple of model.decoder.kv_heads (${d.kv_heads})`);
    if (d.hidden % d.heads !== 0) problems.push(`model.decoder.hidden (${d.hidden}) must be a multiple of model.decoder.heads (${d.heads})`);
    if ((d.hidden / d.heads) % 2 !== 0) problems.push('model.decoder head size (hidden/heads) must be even for RoPE');
  }
  const e = c.model.encoder;
  if (!e.hf_dir && e.hidden % e.heads !== 0) problems.push(`model.encoder.hidden (${e.hidden}) must be a multiple of model.encoder.heads (${e.heads})`);
  if (c.dist.worker_timeout_ms <= 2 * c.dist.heartbeat_ms) problems.push(`dist.worker_timeout_ms (${c.dist.worker_timeout_ms}) must exceed 2 × dist.heartbeat_ms (${c.dist.heartbeat_ms}): a worker would be dropped between two heartbeats`);
  if (c.train.exact_sum && c.dist.wire_dtype !== 'float32') problems.push(`train.exact_sum needs dist.wire_dtype float32 (the exact sum travels as integer limbs, which ${c.dist.wire_dtype} would round): set one of them differently`);
  if (c.dist.workers > c.data.virtual_shards) problems.push(`dist.workers (${c.dist.workers}) must not exceed data.virtual_shards (${c.data.virtual_shards}); raise data.virtual_shards`);
  if (c.train.alpha_lm === 0 && c.train.alpha_cl === 0) problems.push('train.alpha_lm and train.alpha_cl are both 0: nothing would be trained');
  // The two passes of a step lay the prompt out differently (prompt alone, prompt + answer), so a
  // seeded mask would differ between them and break the exact replay; until masks are keyed by
  // sample and position, refuse rather than silently train without the dropout that was asked for.
  if (c.model.lora.dropout !== 0) problems.push(`model.lora.dropout (${c.model.lora.dropout}) is not applied by this trainer: the two-pass step needs the same mask in both passes, which it cannot replay yet; set it to 0 (PEFT adapters with lora_dropout load and export unchanged)`);
  if (!c.model.use_sequences && !c.model.use_tabular) problems.push('model.use_sequences and model.use_tabular are both false: the model would see no user data');
  if (problems.length) throw new ConfigError(`invalid configuration:\n- ${problems.join('\n- ')}`);
}

export function deepFreeze<T>(value: T): Frozen<T> {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value as Frozen<T>;
}

/** Stable hash of a config (keys sorted), stored in checkpoints to detect a changed run. */
export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
