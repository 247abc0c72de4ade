/**
 * @module scripts/instruction-sweep
 * Research driver (docs/quality.md): probes the evaluation users embedded with every training
 * question of the synthetic UserQA (each paraphrase), beside the universal embedding, for each of
 * the six scenarios: which written instruction, if any, beats no instruction.
 *
 *   node dist/scripts/instruction-sweep.js --run RUN_DIR --data REPORT_WORK/data [--users N]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend/select.js';
import { readSamples } from '../src/data/reader.js';
import { QUESTIONS } from '../src/data/synth/qa.js';
import { SCENARIO_NAMES } from '../src/data/synth/scenarios.js';
import type { Sample } from '../src/data/types.js';
import { embedMany } from '../src/eval/batched-embed.js';
import { runProbe } from '../src/eval/probe.js';
import { silentLogger } from '../src/log.js';
import { encodeContextOf } from '../src/model/encode-context.js';
import { loadTrainedModel } from '../src/train/load-trained.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { run: { type: 'string' }, data: { type: 'string' }, users: { type: 'string', default: '2000' } } });
  if (!values.run || !values.data) throw new Error('usage: instruction-sweep --run RUN_DIR --data REPORT_WORK/data [--users N]');
  await selectBackend('auto', silentLogger);
  const samples: Sample[] = [];
  for await (const s of readSamples(join(values.data, 'eval'), { onInvalid: 'fail' })) if (samples.length < Number(values.users)) samples.push(s);
  const trained = await loadTrainedModel({ run: values.run, log: silentLogger });
  const context = encodeContextOf(trained.config, trained.built, trained.tabularSchema);
  const instructions = [null, ...Object.values(QUESTIONS).flatMap((q) => q.instructions)];
  const files = await embedMany(trained.built.model, samples, { context, batch: 32, jobs: instructions.map((instruction) => ({ instruction })) });
  const labels = Object.fromEntries(SCENARIO_NAMES.map((s) => [s, Float64Array.from(samples, (x) => x.record.labels?.[s] ?? NaN)]));
  for (const [i, e] of files.entries()) {
    const probe = runProbe(e.embeddings, e.n, e.d, e.userIds, labels, { bootstrap: 0 });
    process.stdout.write(`${probe.scenarios.map((s) => (s.auc * 100).toFixed(2)).join('\t')}\t${instructions[i] ?? '(none)'}\n`);
  }
  trained.built.model.dispose();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
