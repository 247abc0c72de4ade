/**
 * @module cli/commands/embed
 * `instructue embed`: user embeddings of every record of a UserQA file from a trained model,
 * written as safetensors (`embeddings` [N, d]) plus the user ids in row order (FILE.ids.json),
 * the input of `instructue probe`. Several instructions are embedded in one pass over the data
 * (the encoder runs once per distinct record), one file each; `--workers N` splits the users
 * across N processes. A progress line goes to stderr.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { readSamples } from '../../data/reader.js';
import { listDataFiles } from '../../data/files.js';
import { isBlank, readLines } from '../../data/lines.js';
import { encodeContextOf } from '../../model/encode-context.js';
import { embedMany, type EmbedJob } from '../../eval/batched-embed.js';
import { embedInWorkers } from '../../eval/embed-workers.js';
import { writeEmbeddingsFile, type EmbeddingsFile } from '../../eval/embeddings-file.js';
import { readInstructionTokens } from '../../eval/instruction-tokens-file.js';
import { ConfigError, UsageError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { loadTrainedModel } from '../../train/load-trained.js';
import { runPaths } from '../../train/run-dir.js';
import type { BackendName } from '../../config/schema.js';
import { Progress } from '../progress.js';
import { intFlag, parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue embed (--run RUN | --checkpoint DIR) --data FILE --out FILE|DIR [flags]

Writes one user embedding per record of FILE (the hidden state at <USER>) as safetensors
(tensor "embeddings" [N, d]) and the user ids in row order as OUT.ids.json.

  --run RUN                  a training run folder (its newest valid checkpoint is used)
  --checkpoint DIR           one checkpoint folder (RUN/checkpoints/step-NNNNNNNN)
  --data FILE                UserQA JSONL file or folder (e.g. the eval/ folder of instructue synth)
  --out FILE                 embeddings file to write (.safetensors); with several instructions,
                             a folder: OUT/<name>.safetensors per instruction + OUT/instructions.json
  --instruction TEXT         use TEXT as every record's instruction (default: the records' own;
                             null in evaluation files = the universal embedding)
  --instructions A,B,C       several instructions in one pass over the data, one file each
                             (named instruction-0, -1, …); "none" = no instruction (universal)
  --instructions-file F      the same from JSON: {"name": "text" or null, …} (texts may hold commas)
  --instruction-tokens FILE  learned instruction vectors from instructue tune-instruction, placed
                             after the instruction text (if any) and before <USER>
  --workers N                split the users across N processes, whole chunks each (default 1;
                             the same numbers bit for bit)
  --batch N                  records per decoder forward pass (default 32)
  --chunk N                  records whose behaviour events are encoded together (default 256)
  --backend NAME             auto | wasm | cpu | tensorflow (default: the run's)
  --json                     print a JSON summary on stdout`;

/** Records in a data set (non-blank lines), for the progress line's total. */
async function countRecords(path: string): Promise<number> {
  let n = 0;
  for (const file of listDataFiles(path)) for await (const { bytes } of readLines(file)) if (!isBlank(bytes)) n++;
  return n;
}

/** The named instructions of the flags (one unnamed job when none is given). */
function jobsOf(values: { instruction?: string; instructions?: string; 'instructions-file'?: string }): Array<{ name: string; instruction: string | null | undefined }> {
  const given = [values.instruction, values.instructions, values['instructions-file']].filter((v) => v !== undefined).length;
  if (given > 1) throw new UsageError('give one of --instruction, --instructions, --instructions-file');
  if (values.instructions !== undefined) {
    return values.instructions.split(',').map((t, i) => ({ name: `instruction-${i}`, instruction: t.trim() === 'none' ? null : t.trim() }));
  }
  if (values['instructions-file'] !== undefined) {
    const file = values['instructions-file'];
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`--instructions-file ${file}: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Object.keys(raw).length === 0) {
      throw new ConfigError(`--instructions-file ${file}: must be a non-empty JSON object {"name": "instruction text" or null}`);
    }
    return Object.entries(raw as Record<string, unknown>).map(([name, t]) => {
      if (!/^[\w.-]+$/.test(name)) throw new ConfigError(`--instructions-file ${file}: name ${JSON.stringify(name)} must be letters, digits, _ . - (it names the output file)`);
      if (t !== null && typeof t !== 'string') throw new ConfigError(`--instructions-file ${file}: "${name}" must be a string or null; got ${JSON.stringify(t)}`);
      return { name, instruction: t as string | null };
    });
  }
  return [{ name: 'embeddings', instruction: values.instruction }];
}

const command: Command = {
  name: 'embed',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      run: { type: 'string' }, checkpoint: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' },
      instruction: { type: 'string' }, instructions: { type: 'string' }, 'instructions-file': { type: 'string' },
      'instruction-tokens': { type: 'string' }, batch: { type: 'string' }, chunk: { type: 'string' }, workers: { type: 'string' },
      backend: { type: 'string' }, json: { type: 'boolean' },
    }, usage);
    const data = required(values.data, 'data', usage);
    const out = required(values.out, 'out', usage);
    const batch = intFlag(values.batch, 'batch', 32)!;
    const chunk = intFlag(values.chunk, 'chunk', 256)!;
    const workers = intFlag(values.workers, 'workers', 1)!;
    if (workers < 1) throw new UsageError(`--workers must be at least 1; got ${workers}`);
    if (chunk < 1) throw new UsageError(`--chunk must be at least 1; got ${chunk}`);
    const named = jobsOf(values);
    const log = createLogger({ command: 'embed' });
    const started = performance.now();
    const tokens = values['instruction-tokens'] ? (await readInstructionTokens(values['instruction-tokens'])).tokens : undefined;
    const jobs: EmbedJob[] = named.map((n) => ({ instruction: n.instruction, instructionTokens: tokens }));
    const progress = new Progress({ label: 'embed', total: await countRecords(data), unit: 'users' });
    const backend = values.backend as BackendName | undefined;
    let files: EmbeddingsFile[];
    let checkpoint: string;
    let processes = 1;
    if (workers > 1) {
      // Each child loads the model; the parent only reads the run's data policy and joins rows.
      const onInvalid = loadConfig({ file: runPaths(values.run ?? dirname(dirname(required(values.checkpoint, 'run or --checkpoint', usage)))).config, env: {} }).data.on_invalid;
      ({ files, checkpoint, processes } = await embedInWorkers({
        run: values.run, checkpoint: values.checkpoint, backend, data, onInvalid, jobs, batch, chunk, workers,
        onProgress: (done) => progress.update(done),
      }));
      if (processes < workers) log.warn(`--workers ${workers}: the data is ${processes} chunk(s) of --chunk ${chunk} users, so ${processes} process(es) ran; a smaller --chunk splits it further`);
    } else {
      const trained = await loadTrainedModel({ run: values.run, checkpoint: values.checkpoint, log, backend });
      checkpoint = trained.checkpoint;
      try {
        files = await embedMany(trained.built.model, readSamples(data, { onInvalid: trained.config.data.on_invalid, log }), {
          context: encodeContextOf(trained.config, trained.built, trained.tabularSchema), jobs, batch, chunk,
          onProgress: (done) => progress.update(done),
        });
      } finally {
        trained.built.model.dispose();
      }
    }
    const written: Array<{ name: string; instruction: string | null | undefined; file: string }> = [];
    if (named.length === 1 && values.instructions === undefined && values['instructions-file'] === undefined) {
      await writeEmbeddingsFile(out, files[0]!);
      written.push({ ...named[0]!, file: out });
    } else {
      mkdirSync(out, { recursive: true });
      for (const [j, n] of named.entries()) {
        const file = join(out, `${n.name}.safetensors`);
        await writeEmbeddingsFile(file, files[j]!);
        written.push({ ...n, file });
      }
      writeFileSync(join(out, 'instructions.json'), JSON.stringify(written.map((w) => ({ name: w.name, instruction: w.instruction ?? null, file: `${w.name}.safetensors` })), null, 2) + '\n');
    }
    const seconds = (performance.now() - started) / 1000;
    const users = files[0]!.n;
    const summary = { out, users, dim: files[0]!.d, instructions: named.length, workers: processes, checkpoint, seconds, users_per_second: users / seconds, files: written.map((w) => w.file) };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      const what = named.length === 1 ? `${users} embeddings` : `${named.length} × ${users} embeddings (one file per instruction)`;
      process.stdout.write(`wrote ${what} (d = ${summary.dim}) to ${out} from ${checkpoint} in ${seconds.toFixed(1)} s\n`);
    }
    return 0;
  },
};

export default command;
