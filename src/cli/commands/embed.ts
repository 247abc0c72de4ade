/**
 * @module cli/commands/embed
 * `instructue embed`: user embeddings of every record of a UserQA file from a trained model,
 * streamed in batches with a progress line, written as safetensors (`embeddings` [N, d]) plus
 * the user ids in row order (FILE.ids.json), the input of `instructue probe`.
 */
import { readSamples } from '../../data/reader.js';
import { listDataFiles } from '../../data/files.js';
import { isBlank, readLines } from '../../data/lines.js';
import { embedUsers } from '../../eval/embed.js';
import { writeEmbeddingsFile } from '../../eval/embeddings-file.js';
import { encodeContextOf } from '../../model/encode-context.js';
import { readInstructionTokens } from '../../eval/instruction-tokens-file.js';
import { createLogger } from '../../log.js';
import { loadTrainedModel } from '../../train/load-trained.js';
import type { BackendName } from '../../config/schema.js';
import { Progress } from '../progress.js';
import { intFlag, parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue embed (--run RUN | --checkpoint DIR) --data FILE --out FILE [flags]

Writes one user embedding per record of FILE (the hidden state at <USER>) as safetensors
(tensor "embeddings" [N, d]) and the user ids in row order as OUT.ids.json.

  --run RUN                  a training run folder (its newest valid checkpoint is used)
  --checkpoint DIR           one checkpoint folder (RUN/checkpoints/step-NNNNNNNN)
  --data FILE                UserQA JSONL file or folder (e.g. the eval/ folder of instructue synth)
  --out FILE                 embeddings file to write (.safetensors)
  --instruction TEXT         use TEXT as every record's instruction (default: the records' own;
                             null in evaluation files = the universal embedding)
  --instruction-tokens FILE  learned instruction vectors from instructue tune-instruction, placed
                             after the instruction text (if any) and before <USER>
  --batch N                  records per forward pass (default 32; results do not depend on it)
  --backend NAME             auto | wasm | cpu | tensorflow (default: the run's)
  --json                     print a JSON summary on stdout`;

/** Records in a data set (non-blank lines), for the progress line's total. */
async function countRecords(path: string): Promise<number> {
  let n = 0;
  for (const file of listDataFiles(path)) for await (const { bytes } of readLines(file)) if (!isBlank(bytes)) n++;
  return n;
}

const command: Command = {
  name: 'embed',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      run: { type: 'string' }, checkpoint: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' },
      instruction: { type: 'string' }, 'instruction-tokens': { type: 'string' }, batch: { type: 'string' },
      backend: { type: 'string' }, json: { type: 'boolean' },
    }, usage);
    const data = required(values.data, 'data', usage);
    const out = required(values.out, 'out', usage);
    const batch = intFlag(values.batch, 'batch', 32)!;
    const log = createLogger({ command: 'embed' });
    const started = performance.now();
    const trained = await loadTrainedModel({ run: values.run, checkpoint: values.checkpoint, log, backend: values.backend as BackendName | undefined });
    try {
      const tokens = values['instruction-tokens'] ? (await readInstructionTokens(values['instruction-tokens'])).tokens : undefined;
      const progress = new Progress({ label: 'embed', total: await countRecords(data), unit: 'users' });
      const result = await embedUsers(trained.built.model, readSamples(data, { onInvalid: trained.config.data.on_invalid, log }), {
        context: encodeContextOf(trained.config, trained.built, trained.tabularSchema),
        batch, instruction: values.instruction, instructionTokens: tokens, onProgress: (done) => progress.update(done),
      });
      await writeEmbeddingsFile(out, result);
      const summary = { out, users: result.n, dim: result.d, checkpoint: trained.checkpoint, seconds: (performance.now() - started) / 1000 };
      if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else process.stdout.write(`wrote ${result.n} embeddings (d = ${result.d}) to ${out} from ${trained.checkpoint} in ${summary.seconds.toFixed(1)} s\n`);
      return 0;
    } finally {
      trained.built.model.dispose();
    }
  },
};

export default command;
