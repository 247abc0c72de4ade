/**
 * @module cli/commands/train
 * `instructue train --config C --out RUN [--steps N] [--seed S] [--global-batch B] [--resume]
 *  [--allow-config-change] [--set key=value ...] [--json]`
 * Trains in this process (world size 1), or with `--workers N` as a local cluster (nats-server,
 * coordinator, N worker processes). SIGINT/SIGTERM finish the current step (on every rank),
 * save a checkpoint and exit 0; `--resume` continues from the newest valid checkpoint in RUN.
 */
import { configFlagOptions, parseFlags, required } from '../../config/flags.js';
import { loadConfig } from '../../config/load.js';
import { UsageError } from '../../errors.js';
import { trainCluster, type LocalCluster } from '../../launcher/local-cluster.js';
import { createLogger } from '../../log.js';
import { trainLocal } from '../../train/local-trainer.js';
import type { Command } from '../command.js';
import { Progress, trainProgressHooks } from '../progress.js';

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
  --backend NAME          auto | tensorflow | wasm | cpu
  --set KEY=VALUE         any other config key, e.g. --set train.lr=1e-3 (repeatable)
  --resume                continue from the newest valid checkpoint in RUN
  --allow-config-change   resume even if the run's configuration changed
  --json                  print the final metrics as JSON on stdout`;

/**
 * The launcher's progress line and dashboard address, drawn from the coordinator's events. The
 * link carries the token only on a terminal (Jupyter-style); in a log it would be a secret at rest.
 */
function watchCluster({ coordinator, controlUrl }: LocalCluster, token: string, totalSteps: number): void {
  const link = !token ? `${controlUrl}/` : process.stderr.isTTY ? `${controlUrl}/#token=${encodeURIComponent(token)}` : `${controlUrl}/#token=<INSTRUCTUE_TOKEN> (open it with your token appended)`;
  process.stderr.write(`dashboard: ${link}   (instructue status --url ${controlUrl})\n`);
  const progress = new Progress({ label: 'train', total: totalSteps }, coordinator.status().step);
  coordinator.onStatusEvent((e) => {
    if (e.type !== 'metrics') return;
    const workers = coordinator.status().workers.filter((x) => x.state === 'training').length;
    progress.update(Number(e.line.step), { loss_lm: e.line.loss_lm ?? null, loss_cl: e.line.loss_cl ?? null, 'tok/s': Math.round(Number(e.line.tokens_per_s)), workers });
  });
}

const command: Command = {
  name: 'train',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      config: { type: 'string' }, out: { type: 'string' }, ...configFlagOptions(['steps', 'seed', 'global-batch', 'data', 'backend', 'workers', 'nats']),
      set: { type: 'string', multiple: true }, resume: { type: 'boolean' }, 'allow-config-change': { type: 'boolean' }, json: { type: 'boolean' },
    }, usage);
    const out = required(values.out, 'out', usage);
    const config = loadConfig({ file: required(values.config, 'config', usage), flags: values, sets: values.set });
    const resume = Boolean(values.resume);
    const allowConfigChange = Boolean(values['allow-config-change']);
    if (values.workers !== undefined) {
      const workers = config.dist.workers;
      if (workers < 1) throw new UsageError('--workers must be at least 1');
      const log = createLogger({ job: config.dist.job, role: 'launcher' });
      const onReady = values.json ? undefined : (cluster: LocalCluster) => watchCluster(cluster, config.control.token, config.train.steps);
      const outcome = await trainCluster({ config, out, workers, natsUrl: config.dist.nats_url, resume, allowConfigChange, log, onReady });
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
      const result = await trainLocal({ config, out, resume, allowConfigChange, log, shouldStop: () => stop, ...(values.json ? {} : trainProgressHooks()) });
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
