/**
 * @module eval/labelled-samples
 * The users of a labelled UserQA file that carry a label for one scenario (for instruction
 * tuning and figures), and a deterministic subsample of them chosen by a hash of the user id, so
 * the same users are picked whatever the file order or the other users.
 */
import { createHash } from 'node:crypto';
import { readSamples } from '../data/reader.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LabelledSample } from './instruction-tuning.js';

/** Samples of `path` with a 0/1 label for `scenario`, in file order. */
export async function readLabelled(path: string, scenario: string, log?: Logger): Promise<LabelledSample[]> {
  const out: LabelledSample[] = [];
  const seen = new Set<string>();
  for await (const sample of readSamples(path, { onInvalid: 'fail', log })) {
    const labels = sample.record.labels;
    if (!labels) continue;
    Object.keys(labels).forEach((s) => seen.add(s));
    const label = labels[scenario];
    if (label === 0 || label === 1) out.push({ sample, label });
  }
  if (out.length === 0) {
    throw new ConfigError(`${path}: no user is labelled for scenario "${scenario}"${seen.size > 0 ? `; the file labels ${[...seen].join(', ')}` : ' (no record has "labels")'}`);
  }
  return out;
}

/**
 * The `n` items whose sha256(seed, user id) is smallest, in file order (all of them when there
 * are at most n): a uniform, reproducible subsample.
 */
export function sampleByUserHash<T extends { sample: { record: { user_id: string } } }>(items: T[], n: number, seed: string): T[] {
  if (items.length <= n) return items.slice();
  const keyed = items.map((item, i) => ({ i, key: createHash('sha256').update(seed).update('\u0000').update(item.sample.record.user_id).digest('hex') }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i));
  return keyed.slice(0, n).map((k) => k.i).sort((a, b) => a - b).map((i) => items[i]!);
}
