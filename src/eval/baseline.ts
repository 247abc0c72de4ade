/**
 * @module eval/baseline
 * The non-neural baseline of `probe --baseline` and the report: per user, bag-of-events counts
 * (src/data/bag-of-events.ts: text and boolean fields, words of free text, events per source),
 * aggregates of every numeric event field (`source:field` → mean, max and last of the signed log
 * sign(x)·log(1+|x|), and how many events have it — amounts, ratings, delays of imported data),
 * and the tabular encoding wide enough that every categorical feature is one-hot. It reads the
 * same records the model reads (all history events, not only the most recent the model keeps), so
 * it works on any UserQA data set, synthetic or imported, and is probed on the same users and
 * split as the embeddings.
 */
import { bagOfEventsFeatures, EventVocabularyBuilder, type EventVocabulary } from '../data/bag-of-events.js';
import { recentEvents } from '../data/render.js';
import { featurizeTabular, MIN_TABULAR_DIM, type TabularSchema } from '../data/tabular.js';
import { SOURCE_NAMES, type UserQARecord } from '../data/types.js';

export interface BaselineFeatures {
  /** n×width row-major, row i for records[i]. */
  features: Float32Array;
  width: number;
  /** Feature names in column order (for inspection). */
  names: string[];
}

const slog = (x: number) => Math.sign(x) * Math.log1p(Math.abs(x));

/** Numeric event fields (`source:field`) present in at least `minCount` events, sorted. */
function numericKeys(records: readonly UserQARecord[], minCount: number): string[] {
  const counts = new Map<string, number>();
  for (const r of records) {
    for (const source of SOURCE_NAMES) {
      for (const e of r.sources[source]) {
        for (const [field, v] of Object.entries(e)) if (typeof v === 'number') counts.set(`${source}:${field}`, (counts.get(`${source}:${field}`) ?? 0) + 1);
      }
    }
  }
  return [...counts].filter(([, n]) => n >= minCount).map(([k]) => k).sort();
}

/** Baseline features of one record per user (the first record of a user holds their profile). */
export function baselineFeatures(records: readonly UserQARecord[], schema: TabularSchema, minCount = 5): BaselineFeatures {
  const builder = new EventVocabularyBuilder();
  for (const r of records) builder.add(r);
  const vocabulary: EventVocabulary = builder.build(minCount);
  const numeric = numericKeys(records, minCount);
  const numericIndex = new Map(numeric.map((k, i) => [k, i]));
  const D = Math.max(MIN_TABULAR_DIM, 2 + Math.max(0, ...schema.features.map((f) => (f.kind === 'categorical' ? f.categories.length : 0))));
  const bagWidth = vocabulary.keys.length + SOURCE_NAMES.length;
  const numericWidth = 4 * numeric.length;
  const width = bagWidth + numericWidth + schema.features.length * D;
  const features = new Float32Array(records.length * width);
  records.forEach((r, i) => {
    const row = features.subarray(i * width, (i + 1) * width);
    row.set(bagOfEventsFeatures(r, vocabulary));
    const sums = new Float64Array(numeric.length);
    const maxes = new Float64Array(numeric.length).fill(-Infinity);
    const last = new Float64Array(numeric.length);
    const n = new Float64Array(numeric.length);
    for (const source of SOURCE_NAMES) {
      for (const e of recentEvents(r.sources[source], Number.MAX_SAFE_INTEGER)) {
        for (const [field, v] of Object.entries(e)) {
          const k = typeof v === 'number' ? numericIndex.get(`${source}:${field}`) : undefined;
          if (k === undefined) continue;
          const x = slog(v as number);
          sums[k] += x;
          maxes[k] = Math.max(maxes[k]!, x);
          last[k] = x;
          n[k]++;
        }
      }
    }
    for (let k = 0; k < numeric.length; k++) {
      const at = bagWidth + 4 * k;
      if (n[k]! > 0) row.set([sums[k]! / n[k]!, maxes[k]!, last[k]!, Math.log1p(n[k]!)], at);
    }
    row.set(featurizeTabular(r.tabular, schema, D), bagWidth + numericWidth);
  });
  const names = [
    ...vocabulary.keys, ...SOURCE_NAMES.map((s) => `${s}:(events)`),
    ...numeric.flatMap((k) => [`${k}:mean`, `${k}:max`, `${k}:last`, `${k}:(count)`]),
    ...schema.features.flatMap((f) => Array.from({ length: D }, (_, j) => `tabular:${f.name}[${j}]`)),
  ];
  return { features, width, names };
}

/** The first record of each user, in first-appearance order. */
export function firstRecordPerUser(records: Iterable<UserQARecord>): Map<string, UserQARecord> {
  const out = new Map<string, UserQARecord>();
  for (const r of records) if (!out.has(r.user_id)) out.set(r.user_id, r);
  return out;
}
