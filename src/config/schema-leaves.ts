/**
 * @module config/schema-leaves
 * Walks the schema's keys (the leaves: entries with a `default`) with their dotted names, for
 * what is derived from the schema's own annotations: command-line flags (`arg`), environment
 * variables (`env`) and the run identity (`identity`).
 */
import { schema } from './schema.js';

export interface SchemaLeaf {
  /** Dotted key, e.g. `train.steps`. */
  key: string;
  arg?: string;
  env?: string;
  identity?: boolean;
  sensitive?: boolean;
  format?: unknown;
  default: unknown;
}

export function schemaLeaves(): SchemaLeaf[] {
  const out: SchemaLeaf[] = [];
  const walk = (node: Record<string, unknown>, path: string[]) => {
    if ('default' in node) {
      out.push({ key: path.join('.'), ...(node as Omit<SchemaLeaf, 'key'>) });
      return;
    }
    for (const [k, v] of Object.entries(node)) walk(v as Record<string, unknown>, [...path, k]);
  };
  walk(schema as unknown as Record<string, unknown>, []);
  return out;
}

/** The environment variable of a key (as the schema declares it). */
export function envNameOf(key: string): string {
  const leaf = schemaLeaves().find((l) => l.key === key);
  if (!leaf?.env) throw new Error(`config key ${key} has no environment variable`);
  return leaf.env;
}
