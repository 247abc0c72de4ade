/**
 * @module cli/commands/train
 * `instructue train --config C --out RUN [--steps N] [--seed S] [--global-batch B] [--resume]
 *  [--allow-config-change] [--set key=value ...] [--json]`
 * Trains in this process (world size 1), or with `--workers N` as a local cluster (nats-server,
 * coordinator, N worker processes). SIGINT/SIGTERM finish the current step (on every rank),
 * save a checkpoint and exit 0; `--resume` continues from the newest valid checkpoint in RUN.
 */
import { loadConfig } from '../../config/load.js';
import { UsageError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { trainLocal } from '../../train/local-trainer.js';
import { trainCluster } from '../../launcher/local-cluster.js';
import { intFlag, parseFlags, required, type Command } from '../command.js';

const usage = `usage: instructue train --config FILE --out RUN [--workers N [--nats URL]] [flags]

  --config FILE           run config (e.g. configs/tiny.json)
  --out RUN               run folder (metrics.jsonl, consumed.jsonl, checkpoints/)
  --workers N             run a local cluster: nats-server, the coordinator and N worker
                          processes (without --workers: one process, no NATS)
  --nats URL              use this NATS server instead of starting one (with --workers)
  --steps N               optimizer steps (train.steps)
  --seed S                seed for weights and data order
  --global-batch B        samples per optimizer step
  --data PATH             training data (data.train)
  --backend NAME          auto | cuda | tensorflow | wasm | cpu | webgpu
  --set KEY=VALUE         any other config key, e.g. --set train.lr=1e-3 (repeatable)
  --resume                continue from the newest valid checkpoint in RUN
  --allow-config-change   resume even if the run's configuration changed
  --json                  print the final metrics as JSON on stdout`;

/** `--set a.b=1` → {'a.b': 1}; values are parsed as JSON when they parse, else kept as strings. */
export function parseSets(sets: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of sets ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set expects KEY=VALUE; got ${JSON.stringify(item)}`);
    const raw = item.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a bare string such as a path
    }
    out[item.slice(0, eq)] = value;
  }
  return out;
}

const command: Command = {
  name: 'train',
  summary: 'train InstructUE (single process; the distributed launcher takes --workers)',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      config: { type: 'string' }, out: { type: 'string' }, steps: { type: 'string' }, seed: { type: 'string' },
      'global-batch': { type: 'string' }, data: { type: 'string' }, backend: { type: 'string' },
      set: { type: 'string', multiple: true }, resume: { type: 'boolean' }, 'allow-config-change': { type: 'boolean' },
      json: { type: 'boolean' }, workers: { type: 'string' }, nats: { type: 'string' },
    }, usage);
    const out = required(values.out, 'out', usage);
    const args = (['steps', 'seed', 'global-batch', 'data', 'backend'] as const).flatMap((k) => (values[k] !== undefined ? [`--${k}`, String(values[k])] : []));
    const config = loadConfig({ file: required(values.config, 'config', usage), args, overrides: parseSets(values.set) });
    const resume = Boolean(values.resume);
    const allowConfigChange = Boolean(values['allow-config-change']);
    if (values.workers !== undefined) {
      const workers = intFlag(values.workers, 'workers')!;
      if (workers < 1) throw new UsageError('--workers must be at least 1');
      const log = createLogger({ job: config.dist.job, role: 'launcher' });
      const outcome = await trainCluster({ config, out, workers, natsUrl: values.nats ?? config.dist.nats_url, resume, allowConfigChange, progress: !values.json, log });
      if (values.json) console.log(JSON.stringify(outcome));
      else console.log(`${outcome.state}: step ${outcome.step}${outcome.reason ? ` (${outcome.reason})` : ''}; run folder ${out}`);
      return outcome.state === 'failed' ? 1 : 0;
    }
    const log = createLogger({ job: config.dist.job, rank: 0 });
    let stop = false;
    const onSignal = (signal: string) => {
      log.warn('stop requested: finishing the current step, then saving a checkpoint', { signal });
      stop = true;
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const result = await trainLocal({
        config, out, resume, allowConfigChange, log,
        progress: !values.json, shouldStop: () => stop,
      });
      if (values.json) console.log(JSON.stringify({ step: result.step, stopped_early: result.stoppedEarly, checkpoint: result.checkpoint, last: result.last }));
      else if (result.last) console.log(`done: step ${result.step}, loss_lm ${result.last.lossLm?.toFixed(4) ?? '-'}, loss_cl ${result.last.lossCl?.toFixed(4) ?? '-'}; checkpoint ${result.checkpoint}`);
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

export default command;
