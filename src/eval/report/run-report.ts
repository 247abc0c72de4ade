/**
 * @module eval/report/run-report
 * `instructue report` end to end, top to bottom (the paper's Tables 2–3 protocol on synthetic
 * users):
 * 1. data: training users, the probe population, a separate labelled tuning pool;
 * 2. training: the tiny preset, full model and the six Table 3 ablations, same seed and size;
 * 3. Table 2: baselines (untrained backbone, mean-pooled encoder, bag-of-events), then
 *    InstructUE universal, with each scenario's written instruction, and with instruction vectors
 *    tuned on shots from the tuning pool;
 * 4. Table 3: the universal embedding of every ablation run;
 * 5. the paper's claims checked on those numbers, and one Fig. 5-style picture.
 * Every probe is the linear probe of src/eval/probe.ts (50/50 split by user-id hash).
 * Nothing depends on time or thread order: a rerun with the same parameters gives the same JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { selectBackend } from '../../backend/select.js';
import { tf } from '../../backend/tf.js';
import type { BackendName } from '../../config/schema.js';
import { readSamples } from '../../data/reader.js';
import { SCENARIO_INSTRUCTIONS, SCENARIO_NAMES, type ScenarioName } from '../../data/synth/scenarios.js';
import { readTabularSchema, TABULAR_SCHEMA_FILE } from '../../data/tabular-file.js';
import type { Sample } from '../../data/types.js';
import type { Logger } from '../../log.js';
import { buildRunModel } from '../../train/run-model.js';
import type { InstructUE } from '../../model/instructue.js';
import { loadTrainedModel } from '../../train/load-trained.js';
import { embedUsers, type EmbedOptions } from '../embed.js';
import { encodeContextOf } from '../../model/encode-context.js';
import { instructionFigure } from '../figure.js';
import { compareOnUsers, tuneScenario } from '../instruction-tuning.js';
import { readLabelled, sampleByUserHash } from '../labelled-samples.js';
import { runProbe, type ProbeResult } from '../probe.js';
import { bagOfEventsProbe, encoderMeanFeatures } from './baselines.js';
import { checkClaims } from './claims.js';
import { prepareReportData } from './data.js';
import { MAIN_ROWS, RUNS, type MainRowKey, type ReportParams } from './plan.js';
import { rowFromProbes, type ReportResult, type RunSummary, type TableRow, type TuningSummary } from './result.js';
import { runConfig, trainRun, type TrainHooks } from './train-runs.js';
import { reportVersions } from './versions.js';

export interface ReportRunOptions {
  params: ReportParams;
  /** Scratch folder for data and runs (replaced). */
  workDir: string;
  backend: BackendName;
  command: string;
  /** Where to write the figure, and the link recorded for it; null = no figure. */
  figure: { path: string; link: string } | null;
  log: Logger;
  /** Stage lines ("which run, which step") for stderr. */
  say: (line: string) => void;
  /** Progress of each training run (the CLI draws a progress line). */
  trainHooks?: TrainHooks;
}

/** One embedding pass over the probe population, probed on `scenarios`. */
async function probeModel(model: InstructUE, samples: Sample[], labels: Record<string, Float64Array>, scenarios: readonly string[], embed: EmbedOptions): Promise<ProbeResult> {
  const e = await embedUsers(model, samples, embed);
  return runProbe(e.embeddings, e.n, e.d, e.userIds, Object.fromEntries(scenarios.map((s) => [s, labels[s]!])));
}

export async function runReport(opts: ReportRunOptions): Promise<ReportResult> {
  const started = performance.now();
  const p = opts.params;
  const scenarios = SCENARIO_NAMES;
  const say = opts.say;

  // 1. data
  say(`report: synthesising ${p.users} training, ${p.evalUsers} evaluation and ${p.tuneUsers} tuning users (seed ${p.seed})`);
  const data = prepareReportData(join(opts.workDir, 'data'), p);
  const evalSamples: Sample[] = [];
  for await (const s of readSamples(data.eval, { onInvalid: 'fail' })) evalSamples.push(s);
  const labels = Object.fromEntries(scenarios.map((s) => [s, Float64Array.from(evalSamples, (x) => x.record.labels?.[s] ?? NaN)]));
  const schema = readTabularSchema(join(data.root, TABULAR_SCHEMA_FILE));

  // 2. training
  const trainOpts = { data, params: p, runsDir: join(opts.workDir, 'runs'), backend: opts.backend, log: opts.log, hooks: opts.trainHooks ?? {} };
  const runDirs = new Map<string, string>();
  const runs: RunSummary[] = [];
  for (const [i, plan] of RUNS.entries()) {
    say(`report: [${i + 1}/${RUNS.length}] training ${plan.key} (${p.steps} steps${Object.keys(plan.overrides).length ? `, ${JSON.stringify(plan.overrides)}` : ''})`);
    const { dir, summary } = await trainRun(plan, trainOpts);
    runDirs.set(plan.key, dir);
    runs.push(summary);
  }

  // 3. Table 2
  const main = new Map<MainRowKey, TableRow>();
  const row = (key: MainRowKey, probes: ProbeResult[]) => main.set(key, rowFromProbes(key, MAIN_ROWS.find((r) => r.key === key)!.label, probes, scenarios));
  await selectBackend(opts.backend, opts.log);
  say('report: baselines (untrained backbone, mean-pooled encoder, bag-of-events)');
  const baseConfig = runConfig(RUNS[0]!, trainOpts);
  const untrained = await buildRunModel(baseConfig, schema, opts.log);
  try {
    const context = encodeContextOf(baseConfig, untrained, schema);
    row('untrained', [await probeModel(untrained.model, evalSamples, labels, scenarios, { context, batch: p.batch })]);
    const { features, width } = encoderMeanFeatures(untrained.model, evalSamples, context, p.batch);
    row('encoder_mean', [runProbe(features, evalSamples.length, width, evalSamples.map((s) => s.record.user_id), labels)]);
  } finally {
    untrained.model.dispose();
  }
  row('bag_of_events', [await bagOfEventsProbe(data.eval, schema)]);

  const full = await loadTrainedModel({ run: runDirs.get('full')!, log: opts.log, backend: opts.backend });
  const tuning: TuningSummary[] = [];
  const manualProbes: ProbeResult[] = [];
  const tunedProbes: ProbeResult[] = [];
  let universalProbe: ProbeResult;
  try {
    const model = full.built.model;
    const context = encodeContextOf(full.config, full.built, full.tabularSchema);
    say('report: InstructUE universal');
    universalProbe = await probeModel(model, evalSamples, labels, scenarios, { context, batch: p.batch, instruction: null });
    row('universal', [universalProbe]);
    for (const scenario of scenarios) {
      const written = SCENARIO_INSTRUCTIONS[scenario as ScenarioName];
      say(`report: ${scenario}: written instruction, then tuning ${p.tuneSteps} steps on ${p.shots} shots per class`);
      manualProbes.push(await probeModel(model, evalSamples, labels, [scenario], { context, batch: p.batch, instruction: written }));
      const pool = await readLabelled(data.tune, scenario);
      const tuned = tuneScenario(model, pool, { context, shots: p.shots, seed: p.seed, initInstruction: written, steps: p.tuneSteps, lr: p.tuneLr, tau: full.config.train.tau });
      const heldOut = sampleByUserHash(tuned.heldOut, p.heldOutUsers, `held-out/${p.seed}`);
      const losses = compareOnUsers(model, context, heldOut, written, tuned.tokens, full.config.train.tau);
      tuning.push({ scenario, tokens: tuned.tokens.k, shotsLoss: [tuned.losses[0]!, tuned.losses.at(-1)!], heldOut: { users: heldOut.length, ...losses } });
      tunedProbes.push(await probeModel(model, evalSamples, labels, [scenario], { context, batch: p.batch, instruction: null, instructionTokens: tuned.tokens }));
      if (opts.figure && scenario === p.figureScenario) {
        say(`report: figure (t-SNE of ${p.figureUsers} users, ${scenario})`);
        const figure = await instructionFigure(model, await readLabelled(data.eval, scenario), {
          context, scenario, users: p.figureUsers, instructionTokens: tuned.tokens, iterations: p.figureIterations,
        });
        mkdirSync(dirname(opts.figure.path), { recursive: true });
        writeFileSync(opts.figure.path, figure.svg);
      }
    }
  } finally {
    full.built.model.dispose();
  }
  row('manual', manualProbes);
  row('tuned', tunedProbes);

  // 4. Table 3: the full model is the universal row; each ablation its own run's universal embedding.
  const ablation: TableRow[] = [];
  for (const plan of RUNS.slice(1)) {
    say(`report: ablation ${plan.key}`);
    const trained = await loadTrainedModel({ run: runDirs.get(plan.key)!, log: opts.log, backend: opts.backend });
    try {
      const context = encodeContextOf(trained.config, trained.built, trained.tabularSchema);
      ablation.push(rowFromProbes(plan.key, plan.label, [await probeModel(trained.built.model, evalSamples, labels, scenarios, { context, batch: p.batch, instruction: null })], scenarios));
    } finally {
      trained.built.model.dispose();
    }
  }
  ablation.push({ ...main.get('universal')!, key: RUNS[0]!.key, label: RUNS[0]!.label });

  // 5. claims
  const mainRows = MAIN_ROWS.map((r) => main.get(r.key)!);
  const claims = checkClaims([...mainRows, ...ablation], scenarios);
  return {
    format: 'instructue-report/1',
    command: opts.command,
    params: p,
    versions: reportVersions(tf.getBackend()),
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    evalHalf: Object.fromEntries(universalProbe!.scenarios.map((s) => [s.scenario, { users: s.nEval, positives: s.positives }])),
    runs,
    main: mainRows,
    ablation,
    tuning,
    claims,
    figure: opts.figure?.link ?? null,
  };
}
