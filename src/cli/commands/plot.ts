/**
 * @module cli/commands/plot
 * `instructue plot`: the paper's Fig. 5 for one scenario as an SVG — t-SNE of universal vs
 * instruction-aware embeddings of the same users, coloured by the scenario label.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SCENARIO_INSTRUCTIONS, type ScenarioName } from '../../data/synth/scenarios.js';
import type { BackendName } from '../../config/schema.js';
import { encodeContextOf } from '../../model/encode-context.js';
import { instructionFigure, MAX_FIGURE_USERS } from '../../eval/figure.js';
import { readInstructionTokens } from '../../eval/instruction-tokens-file.js';
import { readLabelled } from '../../eval/labelled-samples.js';
import { UsageError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { loadTrainedModel } from '../../train/load-trained.js';
import { intFlag, parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue plot (--run RUN | --checkpoint DIR) --data EVAL --scenario NAME --out FIG.svg [flags]

Draws t-SNE maps of the same users' universal embeddings (left) and instruction-aware
embeddings (right), coloured by the scenario's label (the paper's Fig. 5).

  --run RUN / --checkpoint DIR  the trained model
  --data EVAL                labelled UserQA file or folder
  --scenario NAME            label that colours the points
  --instruction TEXT         instruction of the right panel (default: the synthetic scenario's
                             manual instruction, unless --instruction-tokens is given)
  --instruction-tokens FILE  tuned vectors for the right panel (with or without --instruction)
  --users N                  users drawn, sampled by a hash of the user id (default 500, at most ${MAX_FIGURE_USERS})
  --iterations N             t-SNE iterations (default 1000)
  --out FIG.svg              the picture to write
  --backend NAME             auto | wasm | cpu | tensorflow (default: the run's)`;

const command: Command = {
  name: 'plot',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      run: { type: 'string' }, checkpoint: { type: 'string' }, data: { type: 'string' }, scenario: { type: 'string' },
      instruction: { type: 'string' }, 'instruction-tokens': { type: 'string' }, users: { type: 'string' },
      iterations: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' },
    }, usage);
    const data = required(values.data, 'data', usage);
    const scenario = required(values.scenario, 'scenario', usage);
    const out = required(values.out, 'out', usage);
    const users = intFlag(values.users, 'users', 500)!;
    if (users < 2 || users > MAX_FIGURE_USERS) throw new UsageError(`--users must be between 2 and ${MAX_FIGURE_USERS}; got ${users}`);
    const tokens = values['instruction-tokens'] ? (await readInstructionTokens(values['instruction-tokens'])).tokens : undefined;
    const instruction = values.instruction ?? (tokens ? null : SCENARIO_INSTRUCTIONS[scenario as ScenarioName]);
    if (instruction === undefined) throw new UsageError(`scenario "${scenario}" has no built-in instruction; pass --instruction TEXT or --instruction-tokens FILE`);
    const log = createLogger({ command: 'plot' });
    const trained = await loadTrainedModel({ run: values.run, checkpoint: values.checkpoint, log, backend: values.backend as BackendName | undefined });
    try {
      const figure = await instructionFigure(trained.built.model, await readLabelled(data, scenario, log), {
        context: encodeContextOf(trained.config, trained.built, trained.tabularSchema),
        scenario, users, instruction, instructionTokens: tokens, iterations: intFlag(values.iterations, 'iterations'),
      });
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, figure.svg);
      process.stdout.write(`wrote ${out}: ${figure.users} users per panel (t-SNE KL ${figure.kl.map((k) => k.toFixed(3)).join(' / ')})\n`);
      return 0;
    } finally {
      trained.built.model.dispose();
    }
  },
};

export default command;
