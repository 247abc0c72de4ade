/**
 * @module cli/commands/report
 * `instructue report`: the paper's Table 2 and Table 3 protocol on synthetic users, end to end
 * (data, training runs, embeddings, probes, instruction tuning, claims, one figure), written as
 * docs/results.md and its JSON twin. `--check FILE` reruns with FILE's parameters and compares.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { BackendName } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { compareReports } from '../../eval/report/compare.js';
import { reportMarkdown } from '../../eval/report/markdown.js';
import { QUICK_PARAMS, REPORT_DEFAULTS, type ReportParams } from '../../eval/report/plan.js';
import type { ReportResult } from '../../eval/report/result.js';
import { runReport } from '../../eval/report/run-report.js';
import { intFlag, numberFlag, parseFlags } from '../../config/flags.js';
import type { Command } from '../command.js';
import { trainProgressHooks } from '../progress.js';

const d = REPORT_DEFAULTS;
const usage = `usage: instructue report [flags]

Runs the paper's Table 2 / Table 3 protocol on synthetic users with a training preset
(--preset): synthesises data, trains the full model and six ablations, embeds the evaluation
users (universal, written instruction, tuned instruction), probes every scenario (AUC/KS), checks
the paper's claims, draws one t-SNE figure, and writes the results as markdown and JSON. Progress
goes to stderr.

  --out FILE        results markdown (default docs/results.md); the JSON twin goes beside it
                    (FILE with .json) and the figure to figures/ beside it
  --users N         training users (default ${d.users})
  --eval-users M    evaluation users, the probe population (default ${d.evalUsers})
  --tune-users T    labelled tuning-pool users, disjoint from the probe (default ${d.tuneUsers})
  --steps S         optimizer steps per training run (default ${d.steps})
  --global-batch B  samples per step (default ${d.globalBatch})
  --preset NAME     training preset, configs/NAME.json (default ${d.preset})
  --no-ablations    skip the six Table 3 ablation runs (recorded in the JSON)
  --seed S          seed of data, weights and draws (default ${d.seed})
  --shots K         tuning shots per class (default ${d.shots})
  --tune-steps N    instruction-tuning steps (default ${d.tuneSteps})
  --quick           tiny sizes for a smoke test (seconds; numbers meaningless; --out
                    defaults to runs/report-quick/results.md)
  --work DIR        scratch folder for data and runs (default runs/report; replaced)
  --backend NAME    wasm | cpu | auto | tensorflow (default wasm, the backend the committed
                    numbers come from)
  --check FILE      rerun with the parameters recorded in FILE (a results .json) and compare:
                    exit 0 when every number matches within --tolerance, else 1; writes nothing
                    outside --work
  --tolerance X     for --check (default 1e-3)
  --render FILE     only rewrite the markdown (--out) from a results .json, without rerunning
  --json            print the result JSON on stdout`;

/** Parameters: --check's file, else --quick or the defaults, then the size flags. */
function paramsOf(values: Record<string, string | boolean | undefined>, checked: ReportResult | null): ReportParams {
  if (checked) return checked.params;
  const base = values.quick ? QUICK_PARAMS : REPORT_DEFAULTS;
  const int = (flag: string, fallback: number) => intFlag(values[flag] as string | undefined, flag, fallback)!;
  return {
    ...base,
    users: int('users', base.users), evalUsers: int('eval-users', base.evalUsers), tuneUsers: int('tune-users', base.tuneUsers),
    steps: int('steps', base.steps), seed: int('seed', base.seed), shots: int('shots', base.shots), tuneSteps: int('tune-steps', base.tuneSteps),
    globalBatch: int('global-batch', base.globalBatch), preset: (values.preset as string | undefined) ?? base.preset,
    ...(values['no-ablations'] ? { ablations: false } : {}),
  };
}

function readResult(path: string, flag: string): ReportResult {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ReportResult;
  } catch (err) {
    throw new ConfigError(`${flag} ${path}: cannot read a report JSON (${(err as Error).message}); pass the docs/results.json written by instructue report`, { cause: err });
  }
}

const command: Command = {
  name: 'report',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, {
      out: { type: 'string' }, users: { type: 'string' }, 'eval-users': { type: 'string' }, 'tune-users': { type: 'string' },
      steps: { type: 'string' }, seed: { type: 'string' }, shots: { type: 'string' }, 'tune-steps': { type: 'string' },
      'global-batch': { type: 'string' }, preset: { type: 'string' }, 'no-ablations': { type: 'boolean' },
      quick: { type: 'boolean' }, work: { type: 'string' }, backend: { type: 'string' }, check: { type: 'string' },
      tolerance: { type: 'string' }, render: { type: 'string' }, json: { type: 'boolean' },
    }, usage);
    if (values.render) {
      const out = values.out ?? 'docs/results.md';
      writeFileSync(out, reportMarkdown(readResult(values.render, '--render')));
      process.stderr.write(`report: wrote ${out} from ${values.render}\n`);
      return 0;
    }
    const checked = values.check ? readResult(values.check, '--check') : null;
    const params = paramsOf(values, checked);
    // Quick numbers are meaningless: they never overwrite the committed results by default.
    const out = values.out ?? (values.quick ? 'runs/report-quick/results.md' : 'docs/results.md');
    const work = values.work ?? 'runs/report';
    const figureLink = `figures/tsne-${params.figureScenario}.svg`;
    const figurePath = checked ? join(work, figureLink) : join(dirname(out), figureLink);
    const result = await runReport({
      params, workDir: work, backend: (values.backend ?? 'wasm') as BackendName,
      command: ['instructue report', ...argv].join(' '),
      figure: { path: figurePath, link: checked ? (checked.figure ?? figureLink) : figureLink },
      log: createLogger({ command: 'report' }, { level: 'warn' }),
      say: (line) => process.stderr.write(`${line}\n`),
      trainHooks: trainProgressHooks(),
    });
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (checked) {
      const tolerance = numberFlag(values.tolerance, 'tolerance', 1e-3)!;
      const mismatches = compareReports(checked, result, tolerance);
      writeFileSync(join(work, 'rerun.json'), JSON.stringify(result, null, 2) + '\n');
      if (mismatches.length === 0) {
        process.stderr.write(`report --check: the rerun matches ${values.check} within ${tolerance} (rerun JSON: ${join(work, 'rerun.json')})\n`);
        return 0;
      }
      process.stderr.write(`report --check: ${mismatches.length} difference(s) from ${values.check} beyond ${tolerance}:\n`);
      for (const m of mismatches.slice(0, 30)) process.stderr.write(`  ${m.path}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.actual)}\n`);
      return 1;
    }
    mkdirSync(dirname(out), { recursive: true });
    const jsonOut = join(dirname(out), `${basename(out).replace(/\.md$/, '')}.json`);
    writeFileSync(out, reportMarkdown(result));
    writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
    process.stderr.write(`report: wrote ${out}, ${jsonOut} and ${relative('.', figurePath)} in ${(result.wallSeconds / 60).toFixed(1)} min\n`);
    return 0;
  },
};

export default command;
