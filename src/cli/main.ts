/**
 * @module cli/main
 * `instructue <command> [flags]`: dispatches to one module per command (loaded lazily so a
 * command's dependencies load only when it runs). Typed errors print their message and exit 2
 * (usage, config, data, weights, checkpoints) or 1 (NATS, peers, anything else).
 */
import { exitCodeOf, InstructueError } from '../errors.js';
import type { Command } from './command.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  export: { summary: 'export trained LoRA weights as a PEFT adapter (adapter_config.json + safetensors)', load: async () => (await import('./commands/export.js')).default },
  coordinator: { summary: 'run a job\'s coordinator (membership, commits, checkpoints) against NATS', load: async () => (await import('./commands/coordinator.js')).default },
  worker: { summary: 'run one training worker (joins a job through NATS)', load: async () => (await import('./commands/worker.js')).default },
  status: { summary: 'show a running job (state, losses, workers, checkpoints); --watch follows it live', load: async () => (await import('./commands/status.js')).default },
  stop: { summary: 'stop a running job after the current step and a checkpoint', load: async () => (await import('./commands/stop.js')).default },
  scale: { summary: 'change the number of workers of a running job', load: async () => (await import('./commands/scale.js')).default },
  train: { summary: 'train InstructUE (contrastive + next-token loss) in this process, or a local cluster with --workers N; resume from checkpoints', load: async () => (await import('./commands/train.js')).default },
  probe: { summary: 'linear probe (logistic regression, AUC/KS per scenario) on exported embeddings', load: async () => (await import('./commands/probe.js')).default },
  embed: { summary: 'write user embeddings (universal or instruction-aware) of a UserQA file', load: async () => (await import('./commands/embed.js')).default },
  'tune-instruction': { summary: 'learn instruction vectors for a scenario from a few labelled users (prototype loss)', load: async () => (await import('./commands/tune-instruction.js')).default },
  plot: { summary: 't-SNE picture of universal vs instruction-aware embeddings (paper Fig. 5) as SVG', load: async () => (await import('./commands/plot.js')).default },
  report: { summary: "the paper's Tables 2–3 on synthetic users: train, embed, tune, probe; writes docs/results.md", load: async () => (await import('./commands/report.js')).default },
  synth: { summary: 'generate synthetic multi-source users: UserQA training shards and a labelled evaluation set', load: async () => (await import('./commands/synth.js')).default },
  import: { summary: 'turn your own event and user tables (CSV/JSONL) into UserQA shards, with rule-based answers', load: async () => (await import('./commands/import.js')).default },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: instructue <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\nRun "instructue <command> --help" for a command's flags.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(help());
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof InstructueError) {
      console.error(`instructue: ${err.message}`);
      process.exitCode = exitCodeOf(err);
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
