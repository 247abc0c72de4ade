/**
 * @module eval/report/run-report
 * `instructue report` end to end, top to bottom (the paper's Tables 2–3 protocol on synthetic
 * users):
 * 1. data: training users, the probe population, a separate labelled tuning pool;
 * 2. training: the preset (params.preset), full model, the full model again with a second
 *    seed, and the six Table 3 ablations, same size;
 * 3. Table 2: baselines (untrained backbone, for both seeds; mean-pooled encoder; bag-of-events),
 *    then InstructUE universal (both seeds), with each scenario's written instruction, and with
 *    instruction vectors tuned on shots from the tuning pool; shortcut-free retrieval
 *    (src/eval/retrieval.ts) of the untrained and trained models on held-out users;
 * 4. Table 3: the universal embedding of every ablation run;
 * 5. the paper's claims checked on those numbers, and one Fig. 5-style picture.
 * Every probe is the linear probe of src/eval/probe.ts (50/50 split by user-id hash), with
 * bootstrap standard errors. The tuning pool is its own labelled users (never probed), so tuning
 * uses all of them (`tune-instruction --split all`).
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
import { embedMany } from '../batched-embed.js';
import type { EmbeddingsFile } from '../embeddings-file.js';
import { encodeContextOf } from '../../model/encode-context.js';
import { instructionFigure } from '../figure.js';
import { compareOnUsers, tuneScenario } from '../instruction-tuning.js';
import { readLabelled, sampleByUserHash } from '../labelled-samples.js';
import { runProbe, type ProbeOptions, type ProbeResult } from '../probe.js';
import { retrievalScores } from '../retrieval.js';
import { DEFAULT_REPLICATES } from '../bootstrap.js';
import { bagOfEventsProbe, encoderMeanFeatures } from './baselines.js';
import { checkClaims } from './claims.js';
import { prepareReportData } from './data.js';
import { MAIN_ROWS, RUNS, type MainRowKey, type ReportParams } from './plan.js';
import { rowFromProbes, type ReportResult, type RetrievalRow, type RunSummary, type TableRow, type TuningSummary } from './result.js';
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
async function probeModel(model: InstructUE, samples: Sample[], labels: Record<string, Float64Array>, scenarios: readonly string[], embed: EmbedOptions, probe: ProbeOptions): Promise<ProbeResult> {
  const e = await embedUsers(model, samples, embed);
  return runProbe(e.embeddings, e.n, e.d, e.userIds, Object.fromEntries(scenarios.map((s) => [s, labels[s]!])), probe);
}

/** The recipe keys of the preset as run, for the setup line (what makes a from-scratch run learn or not). */
function recipeOf(preset: string, c: ReturnType<typeof runConfig>): Record<string, unknown> {
  return {
    preset, 'model.finetune': c.model.finetune, 'model.train_encoder': c.model.train_encoder, 'model.init_std': c.model.init_std,
    'model.residual_init': c.model.residual_init, 'model.pooling': c.model.pooling, 'model.lm_start': c.model.lm_start, 'data.batching': c.data.batching,
    'train.lr': c.train.lr, 'train.tau': c.train.tau, 'train.center': c.train.center, 'train.drop_duplicate_answers': c.train.drop_duplicate_answers,
    'train.mask': c.train.mask, 'train.margin': c.train.margin, 'train.mask_warmup_steps': c.train.mask_warmup_steps, 'train.negatives': c.train.negatives,
    'train.neg_user_user': c.train.neg_user_user, 'train.neg_answer_answer': c.train.neg_answer_answer, 'train.alpha_lm': c.train.alpha_lm, 'train.micro_batch': c.train.micro_batch,
  };
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
  const probeOpts: ProbeOptions = { bootstrap: p.bootstrap ?? DEFAULT_REPLICATES };

  // 2. training
  const trainOpts = { data, params: p, runsDir: join(opts.workDir, 'runs'), backend: opts.backend, log: opts.log, hooks: opts.trainHooks ?? {} };
  const runDirs = new Map<string, string>();
  const runs: RunSummary[] = [];
  const seed2 = p.seed2 === undefined ? null : { key: 'full_seed2', label: 'InstructUE (ours), second seed', overrides: { seed: p.seed2 } };
  const ablations = p.ablations === false ? [] : RUNS.slice(1);
  const plans = [RUNS[0]!, ...(seed2 ? [seed2] : []), ...ablations];
  for (const [i, plan] of plans.entries()) {
    say(`report: [${i + 1}/${plans.length}] training ${plan.key} (${p.steps} steps${Object.keys(plan.overrides).length ? `, ${JSON.stringify(plan.overrides)}` : ''})`);
    const { dir, summary } = await trainRun(plan, trainOpts);
    runDirs.set(plan.key, dir);
    runs.push(summary);
  }

  // 3. Table 2
  const main = new Map<MainRowKey, TableRow>();
  const row = (key: MainRowKey, probes: ProbeResult[]) => main.set(key, rowFromProbes(key, MAIN_ROWS.find((r) => r.key === key)!.label, probes, scenarios));
  await selectBackend(opts.backend, opts.log);
  say('report: baselines (untrained backbone, mean-pooled encoder, bag-of-events)');
  const heldOut: Sample[] = [];
  if (data.heldout) for await (const s of readSamples(data.heldout, { onInvalid: 'fail' })) heldOut.push(s);
  const retrieval: RetrievalRow[] = [];
  const retrievalOf = (key: string, label: string, model: InstructUE, context: ReturnType<typeof encodeContextOf>, config: typeof baseConfig) => {
    if (heldOut.length === 0) return;
    say(`report: retrieval of ${key} on ${heldOut.length} held-out records`);
    const result = retrievalScores(model, heldOut, { context, batch: p.retrievalBatch ?? 16, tau: config.train.tau, seed: p.seed, center: config.train.center, embedBatch: p.batch });
    retrieval.push({ key, label, result });
  };
  const baseConfig = runConfig(RUNS[0]!, trainOpts);
  const untrainedSeeds = seed2 ? [['untrained', RUNS[0]!], ['untrained_seed2', seed2]] as const : [['untrained', RUNS[0]!]] as const;
  for (const [key, plan] of untrainedSeeds) {
    const config = runConfig(plan, trainOpts);
    const untrained = await buildRunModel(config, schema, opts.log);
    try {
      const context = encodeContextOf(config, untrained, schema);
      row(key, [await probeModel(untrained.model, evalSamples, labels, scenarios, { context, batch: p.batch }, probeOpts)]);
      retrievalOf(key, MAIN_ROWS.find((r) => r.key === key)!.label, untrained.model, context, config);
      if (key === 'untrained') {
        const { features, width } = encoderMeanFeatures(untrained.model, evalSamples, context, p.batch);
        row('encoder_mean', [runProbe(features, evalSamples.length, width, evalSamples.map((s) => s.record.user_id), labels, probeOpts)]);
      }
    } finally {
      untrained.model.dispose();
    }
  }
  row('bag_of_events', [bagOfEventsProbe(evalSamples, labels, schema, probeOpts)]);
  if (seed2) {
    const trained = await loadTrainedModel({ run: runDirs.get(seed2.key)!, log: opts.log, backend: opts.backend });
    try {
      const context = encodeContextOf(trained.config, trained.built, trained.tabularSchema);
      say('report: InstructUE universal, second seed');
      row('universal_seed2', [await probeModel(trained.built.model, evalSamples, labels, scenarios, { context, batch: p.batch, instruction: null }, probeOpts)]);
      retrievalOf('universal_seed2', MAIN_ROWS.find((r) => r.key === 'universal_seed2')!.label, trained.built.model, context, trained.config);
    } finally {
      trained.built.model.dispose();
    }
  }

  const full = await loadTrainedModel({ run: runDirs.get('full')!, log: opts.log, backend: opts.backend });
  const tuning: TuningSummary[] = [];
  const manualProbes: ProbeResult[] = [];
  const tunedProbes: ProbeResult[] = [];
  let universalProbe: ProbeResult;
  try {
    const model = full.built.model;
    const context = encodeContextOf(full.config, full.built, full.tabularSchema);
    say('report: InstructUE universal and the six written instructions (one pass over the users)');
    // One pass: the encoder runs once per distinct record; the numbers are those of seven passes.
    const [universalE, ...writtenE] = await embedMany(model, evalSamples, {
      context, batch: p.batch, jobs: [{ instruction: null }, ...scenarios.map((s) => ({ instruction: SCENARIO_INSTRUCTIONS[s as ScenarioName] }))],
    });
    const probeFile = (e: EmbeddingsFile, names: readonly string[]) => runProbe(e.embeddings, e.n, e.d, e.userIds, Object.fromEntries(names.map((s) => [s, labels[s]!])), probeOpts);
    universalProbe = probeFile(universalE!, scenarios);
    row('universal', [universalProbe]);
    retrievalOf('universal', MAIN_ROWS.find((r) => r.key === 'universal')!.label, model, context, full.config);
    for (const [i, scenario] of scenarios.entries()) {
      const written = SCENARIO_INSTRUCTIONS[scenario as ScenarioName];
      say(`report: ${scenario}: tuning ${p.tuneSteps} steps on ${p.shots} shots per class`);
      manualProbes.push(probeFile(writtenE[i]!, [scenario]));
      const pool = await readLabelled(data.tune, scenario);
      const tuned = tuneScenario(model, pool, {
        context, shots: p.shots, seed: p.seed, initInstruction: written, steps: p.tuneSteps, lr: p.tuneLr, tau: full.config.train.tau, center: full.config.train.center,
        validationUsers: p.tuneValidationUsers, validationEvery: p.tuneValidateEvery,
      });
      const heldOut = sampleByUserHash(tuned.heldOut, p.heldOutUsers, `held-out/${p.seed}`);
      const losses = compareOnUsers(model, context, heldOut, written, tuned.tokens, full.config.train.tau, full.config.train.center);
      tuning.push({
        // losses[i] is the shots' loss after i steps: the kept vectors' is losses[best].
        scenario, tokens: tuned.tokens.k, shotsLoss: [tuned.losses[0]!, tuned.losses[tuned.validation?.best ?? tuned.losses.length - 1]!], heldOut: { users: heldOut.length, ...losses },
        ...(tuned.validation ? { validation: { users: tuned.validationSet.length, keptStep: tuned.validation.best } } : {}),
      });
      tunedProbes.push(await probeModel(model, evalSamples, labels, [scenario], { context, batch: p.batch, instruction: null, instructionTokens: tuned.tokens }, probeOpts));
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
  for (const plan of ablations) {
    say(`report: ablation ${plan.key}`);
    const trained = await loadTrainedModel({ run: runDirs.get(plan.key)!, log: opts.log, backend: opts.backend });
    try {
      const context = encodeContextOf(trained.config, trained.built, trained.tabularSchema);
      ablation.push(rowFromProbes(plan.key, plan.label, [await probeModel(trained.built.model, evalSamples, labels, scenarios, { context, batch: p.batch, instruction: null }, probeOpts)], scenarios));
    } finally {
      trained.built.model.dispose();
    }
  }
  if (ablations.length > 0) ablation.push({ ...main.get('universal')!, key: RUNS[0]!.key, label: RUNS[0]!.label });

  // 5. claims
  const mainRows = MAIN_ROWS.filter((r) => main.has(r.key)).map((r) => main.get(r.key)!);
  const claims = checkClaims([...mainRows, ...ablation], scenarios);
  return {
    format: 'instructue-report/2',
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
    ...(retrieval.length > 0 ? { retrieval: MAIN_ROWS.flatMap((r) => retrieval.filter((x) => x.key === r.key)) } : {}),
    recipe: recipeOf(p.preset ?? 'tiny', baseConfig),
  };
}
