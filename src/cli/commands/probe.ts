/**
 * @module cli/commands/probe
 * `instructue probe`: the paper's linear probe (§4.1) on exported embeddings — per scenario, L2
 * logistic regression on one half of the users (split by a hash of the user id; or stratified
 * k-fold) and AUC/KS with bootstrap standard errors on the other half. `--baseline` fits the
 * bag-of-events + numeric + tabular baseline (src/eval/baseline.ts) on the labels file's own
 * records, same users and split, and prints it beside the embeddings. Markdown, or JSON with
 * --json; --out also writes the markdown.
 */
import { writeFile } from 'node:fs/promises';
import { ConfigError, UsageError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { readSamples } from '../../data/reader.js';
import { findTabularSchema, readTabularSchema } from '../../data/tabular-file.js';
import type { UserQARecord } from '../../data/types.js';
import { baselineFeatures, firstRecordPerUser } from '../../eval/baseline.js';
import { DEFAULT_REPLICATES } from '../../eval/bootstrap.js';
import { readEmbeddingsFile } from '../../eval/embeddings-file.js';
import { loadProbeLabels } from '../../eval/probe-labels.js';
import { DEFAULT_SPLIT_SEED, formatComparisonMarkdown, formatProbeMarkdown, runProbe, type ProbeOptions, type ProbeResult } from '../../eval/probe.js';
import { intFlag, numberFlag, parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue probe (--embeddings FILE | --baseline) --labels FILE [flags]

Fits a logistic regression per scenario on half of the users and reports AUC and KS, with
bootstrap standard errors, on the other half (paper §4.1).

  --embeddings FILE   safetensors with tensor "embeddings" [N, d], user ids in FILE.ids.json
  --labels FILE       UserQA evaluation JSONL (file or folder) with "labels": {scenario: 0|1}
  --baseline          also fit the bag-of-events + numeric fields + tabular baseline on the
                      records of --labels (same users, same split); alone, without --embeddings,
                      probe the baseline on every labelled user
  --folds K           stratified K-fold cross-validation instead of the 50/50 hash split
  --bootstrap N       bootstrap replicates for the standard errors (default ${DEFAULT_REPLICATES}; 0 = none)
  --scenarios LIST    comma-separated scenarios to probe (default: all in the labels file)
  --l2 X              L2 strength on standardised features, = 1/C (default 1)
  --seed TEXT         seed of the user split (default "${DEFAULT_SPLIT_SEED}")
  --title TEXT        heading of the markdown table (default "Linear probe")
  --out FILE.md       also write the markdown table to FILE.md
  --json              print the result as JSON instead of markdown ({embeddings, baseline} with both)`;

const command: Command = {
  name: 'probe',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      embeddings: { type: 'string' }, labels: { type: 'string' }, baseline: { type: 'boolean' }, folds: { type: 'string' },
      bootstrap: { type: 'string' }, scenarios: { type: 'string' }, l2: { type: 'string' }, seed: { type: 'string' },
      title: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' },
    }, usage);
    const labelsPath = required(values.labels, 'labels', usage);
    if (!values.embeddings && !values.baseline) throw new UsageError(`give --embeddings FILE and/or --baseline\n\n${usage}`);
    const l2 = numberFlag(values.l2, 'l2', 1)!;
    if (!(l2 > 0)) throw new UsageError(`--l2 must be > 0 (it keeps separable data finite); got ${l2}`);
    const folds = intFlag(values.folds, 'folds', 0)!;
    if (values.folds !== undefined && folds < 2) throw new UsageError(`--folds must be at least 2; got ${folds}`);
    const bootstrap = intFlag(values.bootstrap, 'bootstrap', DEFAULT_REPLICATES)!;
    if (bootstrap < 0) throw new UsageError(`--bootstrap must be ≥ 0; got ${bootstrap}`);
    const opts: ProbeOptions = { l2, seed: values.seed, folds: folds || undefined, bootstrap };
    const log = createLogger({ command: 'probe' });
    const scenarios = values.scenarios?.split(',').map((s) => s.trim()).filter(Boolean);

    const file = values.embeddings ? await readEmbeddingsFile(values.embeddings) : null;
    let records: Map<string, UserQARecord> | null = null;
    if (values.baseline) {
      const all: UserQARecord[] = [];
      for await (const { record } of readSamples(labelsPath, { onInvalid: 'fail', log })) all.push(record);
      records = firstRecordPerUser(all);
    }
    // Rows: the embedding file's users, or (baseline alone) every user of the labels file.
    const userIds = file ? file.userIds : [...records!.keys()];
    const { labels, usersWithoutEmbedding } = await loadProbeLabels(labelsPath, userIds, scenarios, log);
    if (usersWithoutEmbedding > 0) log.warn('labelled users without an embedding are left out', { users: usersWithoutEmbedding });

    const probe = (X: Float32Array, d: number): ProbeResult => {
      try {
        return runProbe(X, userIds.length, d, userIds, labels, opts);
      } catch (err) {
        // Degenerate labels (one class on a half) are an input problem, not a crash.
        if (err instanceof RangeError) throw new ConfigError(`${labelsPath}: ${err.message}; or leave it out with --scenarios`, { cause: err });
        throw err;
      }
    };
    const embedded = file ? probe(file.embeddings, file.d) : null;
    let baseline: ProbeResult | null = null;
    if (records) {
      const schema = readTabularSchema(findTabularSchema(labelsPath));
      // A row without a record has no labels either, so the probe leaves it out.
      const empty: UserQARecord = { user_id: '', sources: { bill: [], minipro: [], spm: [], search: [] }, tabular: {}, instruction: null, answer: '' };
      const b = baselineFeatures(userIds.map((u) => records!.get(u) ?? empty), schema);
      baseline = probe(b.features, b.width);
    }
    const markdown = embedded && baseline
      ? formatComparisonMarkdown(embedded, baseline, ['embeddings', 'baseline'], values.title)
      : formatProbeMarkdown((embedded ?? baseline)!, values.title ?? (embedded ? undefined : 'Baseline: bag-of-events + numeric fields + tabular'));
    if (values.out) await writeFile(values.out, markdown);
    const json = embedded && baseline ? { embeddings: embedded, baseline } : (embedded ?? baseline);
    process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : markdown);
    return 0;
  },
};

export default command;
