/**
 * @module eval/probe-labels
 * Reads the scenario labels of a UserQA evaluation file (or folder) and lines them up with the
 * rows of an embeddings file, for the probe. A user may appear on several lines (one per QA
 * pair); their labels are merged, and a user labelled both 0 and 1 for one scenario is an error.
 */
import { ConfigError, DataError } from '../errors.js';
import { readSamples } from '../data/reader.js';
import type { Logger } from '../log.js';

/** Per scenario, one value per embedding row: 0, 1, or NaN where the user has no label. */
export interface AlignedLabels {
  labels: Record<string, Float64Array>;
  /** Labelled users in the file that have no embedding row. */
  usersWithoutEmbedding: number;
}

/**
 * Streams `path` (validated UserQA records) and aligns its labels to `userIds`.
 * @param scenarios keep only these, in this order (default: every scenario, in order of first appearance).
 * @throws DataError on an invalid record or conflicting labels; ConfigError when a requested scenario is absent.
 */
export async function loadProbeLabels(path: string, userIds: string[], scenarios?: string[], log?: Logger): Promise<AlignedLabels> {
  const byUser = new Map<string, Map<string, 0 | 1>>();
  const seen: string[] = [];
  for await (const { id, record } of readSamples(path, { onInvalid: 'fail', log })) {
    if (!record.labels) continue;
    let mine = byUser.get(record.user_id);
    if (!mine) byUser.set(record.user_id, (mine = new Map()));
    for (const [scenario, value] of Object.entries(record.labels)) {
      if (!seen.includes(scenario)) seen.push(scenario);
      const earlier = mine.get(scenario);
      if (earlier !== undefined && earlier !== value) {
        const at = id.lastIndexOf(':');
        throw new DataError(id.slice(0, at), Number(id.slice(at + 1)), `labels.${scenario}`,
          `user "${record.user_id}" is labelled ${value} here but ${earlier} on an earlier line; fix one of them`);
      }
      mine.set(scenario, value);
    }
  }
  if (seen.length === 0) throw new ConfigError(`${path}: no record has "labels"; pass an evaluation file with labels per scenario`);
  const wanted = scenarios ?? seen;
  const missing = wanted.filter((s) => !seen.includes(s));
  if (missing.length > 0) throw new ConfigError(`${path}: no labels for scenario(s) ${missing.join(', ')}; the file has ${seen.join(', ')}`);

  const labels: Record<string, Float64Array> = {};
  for (const scenario of wanted) {
    labels[scenario] = Float64Array.from(userIds, (user) => byUser.get(user)?.get(scenario) ?? NaN);
  }
  const embedded = new Set(userIds);
  const usersWithoutEmbedding = [...byUser.keys()].filter((user) => !embedded.has(user)).length;
  return { labels, usersWithoutEmbedding };
}
