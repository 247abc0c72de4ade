/**
 * @module cli/commands/probe
 * `instructue probe`: the paper's linear probe (§4.1) on exported embeddings — per scenario, L2
 * logistic regression on one half of the users (split by a hash of the user id) and AUC/KS on
 * the other half. Prints a markdown table (or JSON with --json); --out also writes the table.
 */
import { writeFile } from 'node:fs/promises';
import { ConfigError, UsageError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { readEmbeddingsFile } from '../../eval/embeddings-file.js';
import { loadProbeLabels } from '../../eval/probe-labels.js';
import { DEFAULT_SPLIT_SEED, formatProbeMarkdown, runProbe } from '../../eval/probe.js';
import { numberFlag, parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue probe --embeddings FILE --labels FILE [flags]

Fits a logistic regression per scenario on half of the users and reports AUC and KS on the
other half (paper §4.1).

  --embeddings FILE   safetensors with tensor "embeddings" [N, d], user ids in FILE.ids.json
  --labels FILE       UserQA evaluation JSONL (file or folder) with "labels": {scenario: 0|1}
  --scenarios LIST    comma-separated scenarios to probe (default: all in the labels file)
  --l2 X              L2 strength on standardised features, = 1/C (default 1)
  --seed TEXT         seed of the user split (default "${DEFAULT_SPLIT_SEED}")
  --title TEXT        heading of the markdown table (default "Linear probe")
  --out FILE.md       also write the markdown table to FILE.md
  --json              print the result as JSON instead of markdown`;

const command: Command = {
  name: 'probe',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      embeddings: { type: 'string' },
      labels: { type: 'string' },
      scenarios: { type: 'string' },
      l2: { type: 'string' },
      seed: { type: 'string' },
      title: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    }, usage);
    const embeddingsPath = required(values.embeddings, 'embeddings', usage);
    const labelsPath = required(values.labels, 'labels', usage);
    const l2 = numberFlag(values.l2, 'l2', 1)!;
    if (!(l2 > 0)) throw new UsageError(`--l2 must be > 0 (it keeps separable data finite); got ${l2}`);
    const log = createLogger({ command: 'probe' });

    const { embeddings, n, d, userIds } = await readEmbeddingsFile(embeddingsPath);
    const scenarios = values.scenarios?.split(',').map((s) => s.trim()).filter(Boolean);
    const { labels, usersWithoutEmbedding } = await loadProbeLabels(labelsPath, userIds, scenarios, log);
    if (usersWithoutEmbedding > 0) log.warn('labelled users without an embedding are left out', { users: usersWithoutEmbedding });

    let result;
    try {
      result = runProbe(embeddings, n, d, userIds, labels, { l2, seed: values.seed });
    } catch (err) {
      // Degenerate labels (one class on a half) are an input problem, not a crash.
      if (err instanceof RangeError) throw new ConfigError(`${labelsPath}: ${err.message}; or leave it out with --scenarios`, { cause: err });
      throw err;
    }
    const markdown = formatProbeMarkdown(result, values.title);
    if (values.out) await writeFile(values.out, markdown);
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : markdown);
    return 0;
  },
};

export default command;
