/**
 * @module data/tabular
 * Tabular features as the paper's T ∈ R^{F×D}: a `TabularSchema` (feature names, kinds, and the
 * statistics the encoding needs) and a fixed, deterministic encoding of each feature into D
 * numbers (docs/data-format.md § Tabular encoding). The encoding has no learned parts; the
 * model's tabular adapter learns on top of it.
 */
import { ConfigError } from '../errors.js';

export interface NumericFeature {
  name: string;
  kind: 'numeric';
  mean: number;
  std: number;
}

export interface CategoricalFeature {
  name: string;
  kind: 'categorical';
  categories: string[];
}

export type TabularFeature = NumericFeature | CategoricalFeature;

/** The F tabular features of a data set, in encoding order (saved as tabular-schema.json). */
export interface TabularSchema {
  features: TabularFeature[];
}

/** Smallest D the encoding supports: four fixed numeric slots (missing, z, tanh z, signed log). */
export const MIN_TABULAR_DIM = 4;
/** z-scores are clipped here so one outlier cannot dominate the adapter's input. */
const Z_CLIP = 5;
/** Radial-basis centres cover this z range. */
const RBF_RANGE = 3;

/**
 * Encodes a record's tabular values as F×D floats (row-major, F = schema.features.length).
 *
 * numeric, z = clip((x − mean) / std, ±5): `[missing, z, tanh z, sign(z)·log(1+|z|), rbf_1 … rbf_K]`
 * with K = D − 4 Gaussian bumps exp(−(z − c_k)² / 2w²), centres c_k evenly spaced on [−3, 3] and
 * w their spacing (w = 1 when K = 1). A missing value, or one that is not a finite number, is
 * the row `[1, 0, …, 0]`.
 *
 * categorical: `[missing, unknown, b_0 … b_{D−3}]`: a known category with index k in the schema
 * sets b_{k mod (D−2)} = 1 (one-hot when the category count is ≤ D − 2, hashed by index
 * otherwise); a value not in the schema sets `unknown`; a missing value sets `missing`. Numbers
 * are matched by their decimal text (2 matches category "2").
 *
 * Values whose name is not in the schema are ignored.
 * @throws ConfigError when D < 4.
 */
export function featurizeTabular(values: Record<string, number | string>, schema: TabularSchema, D: number): Float32Array {
  if (!Number.isInteger(D) || D < MIN_TABULAR_DIM) {
    throw new ConfigError(`model.tabular_dim must be an integer ≥ ${MIN_TABULAR_DIM} for the tabular encoding; got ${D}`);
  }
  const out = new Float32Array(schema.features.length * D);
  schema.features.forEach((feature, f) => {
    const row = out.subarray(f * D, (f + 1) * D);
    const value = values[feature.name];
    if (feature.kind === 'numeric') encodeNumeric(row, value, feature);
    else encodeCategorical(row, value, feature);
  });
  return out;
}

function encodeNumeric(row: Float32Array, value: number | string | undefined, feature: NumericFeature): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    row[0] = 1;
    return;
  }
  const z = Math.max(-Z_CLIP, Math.min(Z_CLIP, (value - feature.mean) / feature.std));
  row[1] = z;
  row[2] = Math.tanh(z);
  row[3] = Math.sign(z) * Math.log1p(Math.abs(z));
  const K = row.length - MIN_TABULAR_DIM;
  const width = K > 1 ? (2 * RBF_RANGE) / (K - 1) : 1;
  for (let k = 0; k < K; k++) {
    const centre = K > 1 ? -RBF_RANGE + k * width : 0;
    row[MIN_TABULAR_DIM + k] = Math.exp(-((z - centre) ** 2) / (2 * width * width));
  }
}

function encodeCategorical(row: Float32Array, value: number | string | undefined, feature: CategoricalFeature): void {
  if (value === undefined || value === '') {
    row[0] = 1;
    return;
  }
  const index = feature.categories.indexOf(String(value));
  if (index < 0) row[1] = 1;
  else row[2 + (index % (row.length - 2))] = 1;
}

/**
 * Accumulates tabular values in one pass and turns them into a schema: a feature is numeric when
 * every value it takes is a number (mean and population std; std 0 becomes 1), otherwise
 * categorical with its distinct values as sorted text. Features are sorted by name, so the
 * result does not depend on record order.
 */
export class TabularStats {
  private readonly stats = new Map<string, { n: number; sum: number; sumSq: number; numeric: boolean; values: Set<string> }>();

  add(values: Record<string, number | string>): void {
    for (const [name, value] of Object.entries(values)) {
      let s = this.stats.get(name);
      if (!s) this.stats.set(name, (s = { n: 0, sum: 0, sumSq: 0, numeric: true, values: new Set() }));
      s.values.add(String(value));
      if (typeof value === 'number') {
        s.n++;
        s.sum += value;
        s.sumSq += value * value;
      } else {
        s.numeric = false;
      }
    }
  }

  schema(): TabularSchema {
    const names = [...this.stats.keys()].sort();
    return {
      features: names.map((name): TabularFeature => {
        const s = this.stats.get(name)!;
        if (!s.numeric) return { name, kind: 'categorical', categories: [...s.values].sort() };
        const mean = s.sum / s.n;
        const std = Math.sqrt(Math.max(0, s.sumSq / s.n - mean * mean));
        return { name, kind: 'numeric', mean, std: std > 1e-9 ? std : 1 };
      }),
    };
  }
}

/** The schema of records' tabular values (see `TabularStats`). */
export function inferTabularSchema(records: Iterable<{ tabular: Record<string, number | string> }>): TabularSchema {
  const stats = new TabularStats();
  for (const record of records) stats.add(record.tabular);
  return stats.schema();
}
