/**
 * @module eval/report/baselines
 * The report's feature baselines that are not an InstructUE embedding:
 * - mean-pooled encoder vectors: every behaviour record through the model's frozen encoder
 *   (one pooled vector per record, as the model sees them), averaged per user over all sources,
 *   followed by the user's tabular encoding (F×Y numbers);
 * - logistic regression on raw bag-of-events counts, numeric event-field aggregates and tabular
 *   features: src/eval/baseline.ts, the same baseline as `instructue probe --baseline`.
 *
 * Legend: N records, C encoder width.
 */
import { tf } from '../../backend/tf.js';
import { encodeSample, type EncodeContext } from '../../data/collate.js';
import type { TabularSchema } from '../../data/tabular.js';
import { SOURCE_NAMES, type Sample } from '../../data/types.js';
import type { InstructUE } from '../../model/instructue.js';
import { baselineFeatures } from '../baseline.js';
import { runProbe, type ProbeOptions, type ProbeResult } from '../probe.js';

/** Per-user [mean encoder vector (C), tabular encoding (F·Y)] rows, in sample order. */
export function encoderMeanFeatures(model: InstructUE, samples: Sample[], context: EncodeContext, batch = 32): { features: Float32Array; width: number } {
  const encoder = model.encoder;
  if (!encoder) throw new Error('the mean-pooled encoder baseline needs a model with an encoder (not text_only)');
  const c = encoder.dims.hidden;
  const tabularWidth = context.tabularSchema.features.length * context.tabularDim;
  const width = c + tabularWidth;
  const features = new Float32Array(samples.length * width);
  for (let start = 0; start < samples.length; start += batch) {
    const encoded = samples.slice(start, start + batch).map((s) => encodeSample(s, { ...context, textOnly: false }));
    const records = encoded.flatMap((e) => SOURCE_NAMES.flatMap((source) => e.records[source]));
    const pooled_NC = records.length > 0 ? tf.tidy(() => encoder.encode(records, model.options.encoderPadId).dataSync() as Float32Array) : new Float32Array(0);
    let r = 0;
    encoded.forEach((e, i) => {
      const row = features.subarray((start + i) * width, (start + i + 1) * width);
      const count = SOURCE_NAMES.reduce((n, source) => n + e.records[source].length, 0);
      for (let k = 0; k < count; k++, r++) for (let j = 0; j < c; j++) row[j] += pooled_NC[r * c + j]! / count;
      row.set(e.tabular, c);
    });
  }
  return { features, width };
}

/** The bag-of-events + numeric + tabular logistic-regression probe of the labelled samples (one per user). */
export function bagOfEventsProbe(samples: Sample[], labels: Record<string, ArrayLike<number>>, schema: TabularSchema, opts: ProbeOptions): ProbeResult {
  const { features, width } = baselineFeatures(samples.map((s) => s.record), schema);
  return runProbe(features, samples.length, width, samples.map((s) => s.record.user_id), labels, opts);
}
