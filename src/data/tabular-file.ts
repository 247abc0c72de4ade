/**
 * @module data/tabular-file
 * `tabular-schema.json` on disk: written by `synth` and `import` at the top of a data folder,
 * read (and checked) by whoever featurises tabular values.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { TabularFeature, TabularSchema } from './tabular.js';

export const TABULAR_SCHEMA_FILE = 'tabular-schema.json';

/** Writes `dir/tabular-schema.json` (pretty-printed, stable key order). */
export function writeTabularSchema(dir: string, schema: TabularSchema): string {
  const path = join(dir, TABULAR_SCHEMA_FILE);
  writeFileSync(path, JSON.stringify(schema, null, 2) + '\n');
  return path;
}

/** Reads and checks a tabular schema file. @throws ConfigError naming the file and the problem. */
export function readTabularSchema(path: string): TabularSchema {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read tabular schema ${path}: ${(err as Error).message}`);
  }
  const bad = (why: string): never => {
    throw new ConfigError(`tabular schema ${path}: ${why} (see docs/data-format.md § Tabular schema)`);
  };
  if (typeof value !== 'object' || value === null || !Array.isArray((value as TabularSchema).features)) bad('must be {"features": [...]}');
  const features = (value as TabularSchema).features;
  features.forEach((f: TabularFeature, i) => {
    if (typeof f !== 'object' || f === null || typeof f.name !== 'string' || f.name === '') bad(`features[${i}].name must be a non-empty string`);
    if (f.kind === 'numeric') {
      if (!Number.isFinite(f.mean)) bad(`features[${i}].mean must be a number`);
      if (!(Number.isFinite(f.std) && f.std > 0)) bad(`features[${i}].std must be a positive number`);
    } else if (f.kind === 'categorical') {
      if (!Array.isArray(f.categories) || f.categories.some((c) => typeof c !== 'string')) bad(`features[${i}].categories must be a list of strings`);
    } else {
      bad(`features[${i}].kind must be "numeric" or "categorical"`);
    }
  });
  return { features };
}

/**
 * Locates the tabular schema of a data path: `explicit` when given, else tabular-schema.json in
 * the data folder (or beside a data file), else in its parent (synth's layout: DIR/train/,
 * DIR/tabular-schema.json). @throws ConfigError when none is found.
 */
export function findTabularSchema(dataPath: string, explicit = ''): string {
  if (explicit !== '') {
    if (!existsSync(explicit)) throw new ConfigError(`data.tabular_schema: ${explicit} does not exist`);
    return explicit;
  }
  const dir = existsSync(dataPath) && statSync(dataPath).isDirectory() ? dataPath : dirname(dataPath);
  for (const candidate of [join(dir, TABULAR_SCHEMA_FILE), join(dirname(dir), TABULAR_SCHEMA_FILE)]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new ConfigError(
    `no ${TABULAR_SCHEMA_FILE} found in ${dir} or its parent; set data.tabular_schema, or write one (instructue synth and instructue import do)`,
  );
}
