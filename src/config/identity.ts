/**
 * @module config/identity
 * A run's identity: the config values that change its math (seed, model, data, optimisation).
 * Checkpoints store their hash, and resume refuses a checkpoint of another identity unless
 * `--allow-config-change`. Every key counts unless its schema entry says `identity: false`
 * (where, how often or how fast a run goes: world size, ports, logging, checkpoint cadence,
 * backend), so a new key that changes the math cannot slip past the resume check by being
 * forgotten: it is part of the identity until someone decides otherwise.
 */
import type { Frozen } from './load.js';
import { configHash } from './load.js';
import { schema } from './schema.js';
import type { WorkerConfig } from './worker-config.js';

type SchemaNode = Record<string, unknown>;

const isLeaf = (node: SchemaNode) => 'default' in node;

function pick(node: SchemaNode, value: unknown): unknown {
  if (isLeaf(node)) return node.identity === false ? undefined : value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node)) {
    const picked = pick(child as SchemaNode, (value as Record<string, unknown> | undefined)?.[key]);
    if (picked !== undefined) out[key] = picked;
  }
  return Object.keys(out).length ? out : undefined;
}

/** The identity part of `config` (nested like the config; non-identity keys left out). */
export function runIdentity(config: Frozen<WorkerConfig>): unknown {
  return pick(schema as unknown as SchemaNode, config) ?? {};
}

export function runIdentityHash(config: Frozen<WorkerConfig>): string {
  return configHash(runIdentity(config));
}
