/**
 * @module data/synth/calibrate
 * `synth --report`: how hard the evaluation scenarios are for a plain model. Per scenario, the
 * linear probe of the evaluation (src/eval/probe.ts: L2 logistic regression, 50/50 split by
 * user-id hash, AUC and KS) on bag-of-events counts plus the tabular encoding. The generator is
 * tuned so that every scenario lands in [0.60, 0.95] at the default difficulty: learnable, but
 * not given away by any single visible token.
 */
import { runProbe, type ProbeResult } from '../../eval/probe.js';
import { bagOfEventsFeatures, EventVocabularyBuilder } from '../bag-of-events.js';
import { readSamples } from '../reader.js';
import { featurizeTabular, MIN_TABULAR_DIM, type TabularSchema } from '../tabular.js';
import { SOURCE_NAMES, type UserQARecord } from '../types.js';

/** AUC range every scenario must reach at the default difficulty. */
export const CALIBRATION_RANGE = [0.6, 0.95] as const;

/**
 * Runs the bag-of-events + tabular probe on a labelled evaluation file or folder. Streams the
 * the file twice (vocabulary, then features) so only the feature matrix is held.
 */
export async function calibrationReport(evalPath: string, schema: TabularSchema): Promise<ProbeResult> {
  const labelled = async function* (): AsyncGenerator<UserQARecord> {
    for await (const { record } of readSamples(evalPath, { onInvalid: 'fail' })) if (record.labels) yield record;
  };
  const builder = new EventVocabularyBuilder();
  for await (const record of labelled()) builder.add(record);
  const vocabulary = builder.build();
  // The tabular encoding with D wide enough that every categorical feature is one-hot.
  const D = Math.max(MIN_TABULAR_DIM, 2 + Math.max(0, ...schema.features.map((f) => (f.kind === 'categorical' ? f.categories.length : 0))));
  const bagWidth = vocabulary.keys.length + SOURCE_NAMES.length;
  const width = bagWidth + schema.features.length * D;
  const rows: Float32Array[] = [];
  const userIds: string[] = [];
  const labelSets: Array<Record<string, 0 | 1>> = [];
  for await (const record of labelled()) {
    const row = new Float32Array(width);
    row.set(bagOfEventsFeatures(record, vocabulary));
    row.set(featurizeTabular(record.tabular, schema, D), bagWidth);
    rows.push(row);
    userIds.push(record.user_id);
    labelSets.push(record.labels!);
  }
  const X = new Float32Array(rows.length * width);
  rows.forEach((row, i) => X.set(row, i * width));
  const scenarios = [...new Set(labelSets.flatMap((l) => Object.keys(l)))];
  // NaN marks a user without a label for a scenario (the probe leaves those rows out).
  const labels = Object.fromEntries(scenarios.map((s) => [s, Float64Array.from(labelSets, (l) => l[s] ?? NaN)]));
  return runProbe(X, rows.length, width, userIds, labels);
}
