/**
 * @module config/redact
 * A config as it may be written down (RUN/config.json, logs, status): every key the schema marks
 * `sensitive` (the control token, NATS password and token) shows `"<set>"` when it has a value
 * and `""` when not, so a run folder on shared storage gives no one the keys to the job.
 */
import { schemaLeaves } from './schema-leaves.js';

export const REDACTED = '<set>';

/** A deep copy of `config` with the sensitive values replaced. */
export function redactConfig<T extends object>(config: T): T {
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const leaf of schemaLeaves()) {
    if (!leaf.sensitive) continue;
    const path = leaf.key.split('.');
    let node: Record<string, unknown> | undefined = copy;
    for (const part of path.slice(0, -1)) node = node?.[part] as Record<string, unknown> | undefined;
    const last = path[path.length - 1]!;
    if (node && typeof node[last] === 'string' && node[last] !== '') node[last] = REDACTED;
  }
  return copy as T;
}
