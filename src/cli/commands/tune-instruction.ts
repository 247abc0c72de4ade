/**
 * @module cli/commands/tune-instruction
 * `instructue tune-instruction`: few-shot instruction tuning (paper §3.3.3, Eq. 6). Learns k
 * instruction vectors on K labelled users per class with the backbone frozen, starting from a
 * written instruction, and saves them for `embed --instruction-tokens`. Shots come only from the
 * probe's fit half (the same user-id hash split `probe` uses), so a probe of the tuned embedding
 * never evaluates on a user the vectors were fitted to; `--split all` is for a separate tuning pool.
 */
import { SCENARIO_INSTRUCTIONS, type ScenarioName } from '../../data/synth/scenarios.js';
import type { BackendName } from '../../config/schema.js';
import { UsageError } from '../../errors.js';
import { encodeContextOf } from '../../model/encode-context.js';
import { writeInstructionTokens, type InstructionTuningInfo } from '../../eval/instruction-tokens-file.js';
import { compareOnUsers, TUNE_DEFAULTS, tuneScenario } from '../../eval/instruction-tuning.js';
import { readLabelled, sampleByUserHash } from '../../eval/labelled-samples.js';
import { DEFAULT_SPLIT_SEED, splitByUserHash } from '../../eval/probe.js';
import { createLogger } from '../../log.js';
import { loadTrainedModel } from '../../train/load-trained.js';
import { Progress } from '../progress.js';
import { intFlag, numberFlag, parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue tune-instruction (--run RUN | --checkpoint DIR) --data LABELLED --scenario NAME --shots K --out FILE [flags]

Learns k instruction vectors (a soft prompt placed before <USER>) with the prototype loss of the
paper's Eq. 6 on K labelled users per class; the model itself stays frozen. The vectors start as
the token embeddings of a written instruction. Use the result with
\`instructue embed --instruction-tokens FILE\`.

  --run RUN / --checkpoint DIR  the trained model
  --data LABELLED         UserQA file or folder whose records carry "labels": {NAME: 0|1}
  --scenario NAME         the label to tune for
  --shots K               labelled users per class (drawn by --seed; the rest are held out)
  --split fit|all         which labelled users may be shots: fit (default) = only the fit half of
                          the probe's user-id hash split, so \`probe\` evaluates on users the vectors
                          never saw; all = every labelled user (for a separate tuning pool)
  --split-seed TEXT       seed of that split; use the probe's --seed (default "${DEFAULT_SPLIT_SEED}")
  --out FILE              instruction vectors to write (.safetensors, plus FILE.json)
  --init-instruction TEXT starting instruction (default: the synthetic scenario's manual one)
  --tokens k              number of vectors (default: the starting instruction's token count,
                          so tuning starts exactly at it; otherwise its tokens are cycled)
  --steps N               full-batch AdamW steps (default ${TUNE_DEFAULTS.steps})
  --lr X                  learning rate (default ${TUNE_DEFAULTS.lr})
  --tau X                 temperature of Eq. 6 (default: the run's train.tau)
  --seed S                seed of the shot draw (default ${TUNE_DEFAULTS.seed})
  --held-out N            also report Eq. 6 on up to N held-out users, written vs tuned
  --validation N          early stopping: Eq. 6 on N further non-shot users (hash-chosen, never
                          among the held-out ones) before the first step and every
                          --validate-every steps; the vectors of its lowest value are kept
                          (the starting ones when no step lowers it); default 0, no early
                          stopping: the last step's vectors are kept
  --validate-every N      steps between those checks (default 10)
  --backend NAME          auto | wasm | cpu | tensorflow (default: the run's)
  --json                  print the summary as JSON`;

function defaultInstruction(scenario: string): string {
  const text = SCENARIO_INSTRUCTIONS[scenario as ScenarioName];
  if (!text) throw new UsageError(`scenario "${scenario}" has no built-in instruction; pass --init-instruction TEXT`);
  return text;
}

const command: Command = {
  name: 'tune-instruction',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      run: { type: 'string' }, checkpoint: { type: 'string' }, data: { type: 'string' }, scenario: { type: 'string' },
      shots: { type: 'string' }, out: { type: 'string' }, 'init-instruction': { type: 'string' }, tokens: { type: 'string' },
      steps: { type: 'string' }, lr: { type: 'string' }, tau: { type: 'string' }, seed: { type: 'string' },
      'held-out': { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean' },
      split: { type: 'string' }, 'split-seed': { type: 'string' }, validation: { type: 'string' }, 'validate-every': { type: 'string' },
    }, usage);
    const data = required(values.data, 'data', usage);
    const scenario = required(values.scenario, 'scenario', usage);
    const out = required(values.out, 'out', usage);
    const shots = intFlag(required(values.shots, 'shots', usage), 'shots')!;
    const initInstruction = values['init-instruction'] ?? defaultInstruction(scenario);
    const steps = intFlag(values.steps, 'steps', TUNE_DEFAULTS.steps)!;
    if (steps < 0) throw new UsageError(`--steps must be ≥ 0; got ${steps}`);
    const split = values.split ?? 'fit';
    if (split !== 'fit' && split !== 'all') throw new UsageError(`--split must be fit or all; got ${JSON.stringify(split)}`);
    const splitSeed = values['split-seed'] ?? DEFAULT_SPLIT_SEED;
    const log = createLogger({ command: 'tune-instruction' });
    const trained = await loadTrainedModel({ run: values.run, checkpoint: values.checkpoint, log, backend: values.backend as BackendName | undefined });
    try {
      const model = trained.built.model;
      const context = encodeContextOf(trained.config, trained.built, trained.tabularSchema);
      const all = await readLabelled(data, scenario, log);
      const fitHalf = new Set(splitByUserHash(all.map((l) => l.sample.record.user_id), splitSeed).fit);
      const labelled = split === 'all' ? all : all.filter((_, i) => fitHalf.has(i));
      log.info('tuning users', { split, splitSeed, labelled: all.length, eligible: labelled.length });
      const seed = intFlag(values.seed, 'seed', TUNE_DEFAULTS.seed)!;
      const tau = numberFlag(values.tau, 'tau', trained.config.train.tau)!;
      const lr = numberFlag(values.lr, 'lr', TUNE_DEFAULTS.lr)!;
      const center = trained.config.train.center;
      const validationUsers = intFlag(values.validation, 'validation', 0)!;
      const validationEvery = intFlag(values['validate-every'], 'validate-every', 10)!;
      if (validationUsers < 0) throw new UsageError(`--validation must be ≥ 0; got ${validationUsers}`);
      if (validationEvery < 1) throw new UsageError(`--validate-every must be ≥ 1; got ${validationEvery}`);
      const progress = new Progress({ label: `tune ${scenario}`, total: steps });
      const result = tuneScenario(model, labelled, {
        context, shots, seed, initInstruction, tokens: intFlag(values.tokens, 'tokens'), steps, lr, tau, center, validationUsers, validationEvery,
        onStep: (step, loss) => progress.update(step, { loss }),
      });
      const info: InstructionTuningInfo = {
        format: 'instructue-instruction-tokens/1', scenario, shots, steps, lr, tau, seed, initInstruction, split, splitSeed,
        losses: result.losses, checkpoint: trained.checkpoint, shotIds: result.shotIds,
        ...(result.validation ? { validation: { users: result.validationSet.length, every: validationEvery, ...result.validation } } : {}),
      };
      await writeInstructionTokens(out, result.tokens, info);
      const heldOutN = intFlag(values['held-out'], 'held-out', 0)!;
      const heldOut = heldOutN > 0 ? compareOnUsers(model, context, sampleByUserHash(result.heldOut, heldOutN, `held-out/${seed}`), initInstruction, result.tokens, tau, center) : null;
      const summary = { out, scenario, tokens: result.tokens.k, shots, steps, split, eligible_users: labelled.length, loss_start: result.losses[0], loss_end: result.losses.at(-1), held_out: heldOut,
        ...(result.validation ? { kept_step: result.validation.best, validation_loss: result.validation.losses[result.validation.steps.indexOf(result.validation.best)] } : {}) };
      if (values.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      } else {
        process.stdout.write(`wrote ${result.tokens.k} instruction vectors to ${out}; prototype loss on the ${2 * shots} shots (from ${labelled.length} ${split === 'fit' ? 'fit-half' : 'labelled'} users) ${summary.loss_start!.toFixed(4)} → ${summary.loss_end!.toFixed(4)}\n`);
        if (result.validation) process.stdout.write(`early stopping on ${result.validationSet.length} users: kept step ${result.validation.best} of ${steps} (Eq. 6 ${result.validation.losses.map((l) => l.toFixed(4)).join(' → ')})\n`);
        if (heldOut) process.stdout.write(`held-out users: written instruction ${heldOut.manual.toFixed(4)}, tuned ${heldOut.tuned.toFixed(4)}\n`);
      }
      return 0;
    } finally {
      trained.built.model.dispose();
    }
  },
};

export default command;
