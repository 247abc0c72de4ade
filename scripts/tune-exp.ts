/**
 * @module scripts/tune-exp
 * Research driver for instruction tuning (docs/quality.md, T rows): on one trained run, tunes
 * each scenario's instruction vectors as the report does (32 shots per class from the report's
 * tuning pool, seed 1234, initialised from the written instruction) once per variant, then
 * probes the evaluation users embedded with the tuned vectors, beside the universal embedding and
 * the written instruction. Prints one JSON line per scenario, then per variant the mean AUC and
 * in how many scenarios it is at least the universal embedding's.
 *
 *   node dist/scripts/tune-exp.js --run RUN_DIR --data REPORT_WORK/data [--variant center:steps:lr[:validation:every:shots:tau] ...]
 *
 * A variant `1:100:0.01` tunes 100 steps at lr 0.01 on batch-centred embeddings (`0:` raw
 * cosines); `1:100:0.01:128:10:32` also stops early on 128 non-shot tuning-pool users checked
 * every 10 steps, with 32 shots per class; a seventh field sets Eq. 6's temperature (the defaults of
 * the last four: 0, 10, 32, the run's train.tau).
 * REPORT_WORK/data is the folder `instructue report` synthesises (eval/ and tune/).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend/select.js';
import { readSamples } from '../src/data/reader.js';
import { SCENARIO_INSTRUCTIONS, SCENARIO_NAMES } from '../src/data/synth/scenarios.js';
import type { Sample } from '../src/data/types.js';
import { embedMany } from '../src/eval/batched-embed.js';
import type { EmbeddingsFile } from '../src/eval/embeddings-file.js';
import { tuneScenario } from '../src/eval/instruction-tuning.js';
import { readLabelled } from '../src/eval/labelled-samples.js';
import { runProbe } from '../src/eval/probe.js';
import { silentLogger } from '../src/log.js';
import { encodeContextOf } from '../src/model/encode-context.js';
import { loadTrainedModel } from '../src/train/load-trained.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { run: { type: 'string' }, data: { type: 'string' }, variant: { type: 'string', multiple: true, default: ['0:30:0.003', '1:100:0.01'] } } });
  if (!values.run || !values.data) throw new Error('usage: tune-exp --run RUN_DIR --data REPORT_WORK/data [--variant center:steps:lr[:validation:every:shots:tau] ...]');
  await selectBackend('auto', silentLogger);
  const evalSamples: Sample[] = [];
  for await (const s of readSamples(join(values.data, 'eval'), { onInvalid: 'fail' })) evalSamples.push(s);
  const trained = await loadTrainedModel({ run: values.run, log: silentLogger });
  const model = trained.built.model;
  const context = encodeContextOf(trained.config, trained.built, trained.tabularSchema);
  const auc = (e: EmbeddingsFile, scenario: string) => {
    const labels = Float64Array.from(evalSamples, (x) => x.record.labels?.[scenario] ?? NaN);
    return runProbe(e.embeddings, e.n, e.d, e.userIds, { [scenario]: labels }, { bootstrap: 0 }).scenarios[0]!.auc * 100;
  };
  const [universal, ...written] = await embedMany(model, evalSamples, {
    context, batch: 32, jobs: [{ instruction: null }, ...SCENARIO_NAMES.map((s) => ({ instruction: SCENARIO_INSTRUCTIONS[s] }))],
  });
  const table = new Map<string, number[]>([['universal', []], ['written', []], ...values.variant!.map((v) => [v, []] as [string, number[]])]);
  for (const [i, scenario] of SCENARIO_NAMES.entries()) {
    const row: Record<string, number | string> = { universal: auc(universal!, scenario), written: auc(written[i]!, scenario) };
    const pool = await readLabelled(join(values.data, 'tune'), scenario);
    for (const variant of values.variant!) {
      const [center, steps, lr, validationUsers = '0', every = '10', shots = '32', tau = String(trained.config.train.tau)] = variant.split(':');
      const tuned = tuneScenario(model, pool, {
        context, shots: Number(shots), seed: 1234, initInstruction: SCENARIO_INSTRUCTIONS[scenario], steps: Number(steps), lr: Number(lr), tau: Number(tau), center: center === '1',
        validationUsers: Number(validationUsers), validationEvery: Number(every),
      });
      if (tuned.validation) row[`${variant} kept`] = `step ${tuned.validation.best}: ${tuned.validation.losses.map((l) => l.toFixed(2)).join(' ')}`;
      const [e] = await embedMany(model, evalSamples, { context, batch: 32, jobs: [{ instruction: null, instructionTokens: tuned.tokens }] });
      row[variant] = auc(e!, scenario);
      row[`${variant} loss`] = `${tuned.losses[0]!.toFixed(3)}→${tuned.losses.at(-1)!.toFixed(3)}`;
    }
    for (const [key, aucs] of table) aucs.push(row[key] as number);
    process.stdout.write(`${scenario} ${JSON.stringify(row)}\n`);
  }
  const base = table.get('universal')!;
  for (const [key, aucs] of table) {
    const wins = aucs.filter((a, i) => a >= base[i]!).length;
    process.stdout.write(`${key.padEnd(12)} mean ${(aucs.reduce((a, b) => a + b, 0) / aucs.length).toFixed(2)}  ≥ universal in ${wins}/6  (${aucs.map((a) => a.toFixed(1)).join(' / ')})\n`);
  }
  trained.built.model.dispose();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
