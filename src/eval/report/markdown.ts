/**
 * @module eval/report/markdown
 * docs/results.md from a report result: setup, Table 2, Table 3, instruction tuning, training
 * runs, the paper's claims on our numbers, and notes on how far to trust them. Everything shown
 * comes from the result object; the only fixed prose is about the setup's known limits.
 */
import { SCENARIO_NAMES } from '../../data/synth/scenarios.js';
import type { RetrievalScore } from '../retrieval.js';
import type { ClaimResult, ReportResult, Score, TableRow } from './result.js';

const pct = (x: number) => (100 * x).toFixed(2);
/** Table text with < and > escaped (labels mention <USER>, which markdown would take for HTML). */
const md = (text: string) => text.replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** `AUC% ± SE / KS ± SE`; results written before standard errors were reported show none. */
const cell = (s: Score) =>
  s.aucSE === undefined || s.ksSE === undefined
    ? `${pct(s.auc)} / ${s.ks.toFixed(4)}`
    : `${pct(s.auc)} ± ${pct(s.aucSE)} / ${s.ks.toFixed(3)} ± ${s.ksSE.toFixed(3)}`;

/** A markdown table of rows; the best AUC of each column is bold. */
function table(rows: TableRow[]): string {
  const columns = [...SCENARIO_NAMES, 'mean'];
  const score = (r: TableRow, c: string) => (c === 'mean' ? r.mean : r.scores[c]!);
  const best = new Map(columns.map((c) => [c, Math.max(...rows.map((r) => score(r, c).auc))]));
  const lines = rows.map((r) => `| ${md(r.label)} | ${columns.map((c) => (score(r, c).auc === best.get(c) ? `**${cell(score(r, c))}**` : cell(score(r, c)))).join(' | ')} |`);
  return [`| Model | ${columns.join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`, ...lines].join('\n');
}

function claimsTable(claims: ClaimResult[]): string {
  const lines = claims.map((c) => `| ${md(c.statement)} | ${c.paperWins === null ? '–' : `${c.paperWins}/6`} | ${c.wins}/6 | ${c.meanDelta >= 0 ? '+' : ''}${pct(c.meanDelta)} | ${c.verdict} |`);
  return ['| Claim (A beats B) | paper: AUC wins | ours: AUC wins | ours: mean ΔAUC (points) | on our data |', '|---|---:|---:|---:|---|', ...lines].join('\n');
}

function setup(r: ReportResult): string {
  const p = r.params;
  const v = r.versions;
  return [
    `- **Command:** \`${r.command}\` (wall time ${(r.wallSeconds / 60).toFixed(1)} min on the machine that wrote this file; not part of the comparison).`,
    `- **Versions:** instructue ${v.instructue} (commit ${v.commit}), Node ${v.node}, tfjs ${v.tfjs}, backend ${v.backend}.`,
    `- **Data:** \`instructue synth\` with seed ${p.seed}: ${p.users} training users (1 general + 3 instruction records each), ${p.evalUsers} evaluation users (the probe population), and ${p.tuneUsers} further labelled users (the tuning pool; never probed).`,
    r.recipe
      ? `- **Training:** the ${p.preset ?? 'tiny'} preset (\`configs/${p.preset ?? 'tiny'}.json\`: Qwen2-shaped decoder and BERT-shaped encoder, random init), ${p.steps} steps × ${p.globalBatch} samples, seed ${p.seed}${p.seed2 !== undefined ? ` (the full model also with seed ${p.seed2})` : ''}, for the full model and each ablation. Recipe: ${Object.entries(r.recipe).filter(([k]) => k !== 'preset').map(([k, v]) => `\`${k}=${String(v)}\``).join(', ')}.`
      : `- **Training:** the tiny preset (\`configs/tiny.json\`: Qwen2-shaped decoder 64 wide × 2 layers and BERT-shaped encoder 32 × 1 layer, both random init and frozen, LoRA r = 8 plus adapters trained), ${p.steps} steps × ${p.globalBatch} samples, seed ${p.seed}, for the full model and each ablation.`,
    `- **Probe:** logistic regression (L2 = 1 on standardised features) on the embeddings of one half of the evaluation users, AUC and KS on the other half (split by sha256 of the user id; sizes below).`,
    `- **Instruction tuning:** per scenario, ${p.shots} users per class drawn (seed ${p.seed}) from the tuning pool; the vectors start as the token embeddings of the scenario's written instruction (so k = its token count) and take ${p.tuneSteps} full-batch AdamW steps (lr ${p.tuneLr}) on the prototype loss (Eq. 6, τ = train.tau${r.recipe?.['train.center'] ? ', on batch-centred embeddings, as `train.center` trains' : ''}); the backbone is frozen.${p.tuneValidationUsers ? ` Early stopping: Eq. 6 on ${p.tuneValidationUsers} further tuning-pool users (neither shots nor held out) before the first step and every ${p.tuneValidateEvery ?? 10} steps; the vectors of its lowest value are kept (the written instruction's when no step lowers it).` : ''}`,
  ].join('\n');
}

function evalHalfLine(r: ReportResult): string {
  const halves = SCENARIO_NAMES.map((s) => `${s} ${r.evalHalf[s]!.positives}/${r.evalHalf[s]!.users}`).join(', ');
  const ses = [...r.main, ...r.ablation].flatMap((row) => SCENARIO_NAMES.map((s) => row.scores[s]!.aucSE)).filter((x): x is number => x !== undefined);
  const noise = ses.length === 0
    ? 'single-scenario differences of a few points may be within noise'
    : `the standard errors after ± (a stratified bootstrap of the evaluation half, ${r.params.bootstrap ?? 1000} replicates, with the fitted probe held fixed) run from ${pct(Math.min(...ses))} to ${pct(Math.max(...ses))} AUC points, so single-scenario differences smaller than about twice that are within noise`;
  const mean = ses.length === 0 ? '' : "; the mean column's ± is √(Σ SE²)/6, as if the scenarios were independent";
  return `Evaluation half (positives/users): ${halves}. In every cell ${noise}${mean}. The win counts over six scenarios and the means are steadier.`;
}

/** Shortcut-free retrieval: top-1 ± SE (chance) and L_cl ± SE (chance) per kind of batch. */
function retrievalTable(r: ReportResult): string {
  const kinds = [['noInstruction', 'no instruction (general records)'], ['sameTopic', 'one instruction per batch'], ['mixed', 'mixed (training-like)']] as const;
  const f = (x: RetrievalScore | null) => (x === null ? '–' : `${pct(x.top1)} ± ${pct(x.top1SE)} (${pct(x.chanceTop1)}) · ${x.loss.toFixed(3)} ± ${x.lossSE.toFixed(3)} (${x.chanceLoss.toFixed(3)})`);
  const lines = r.retrieval!.map((row) => `| ${md(row.label)} | ${kinds.map(([k]) => f(row.result[k])).join(' | ')} |`);
  return [`| Model | ${kinds.map(([, label]) => label).join(' | ')} |`, '|---|---:|---:|---:|', ...lines].join('\n');
}

function retrievalNote(r: ReportResult): string {
  const x = r.retrieval![0]!.result;
  return `Each cell: top-1 % ± SE (chance) · L_cl ± SE (chance, ln(3B − 2)), over batches of ${x.batch} held-out records (${x.records} records of ${r.params.retrievalUsers} users of the training population, never trained on; ${x.noInstruction?.batches ?? 0} / ${x.sameTopic?.batches ?? 0} / ${x.mixed?.batches ?? 0} batches). Top-1: the user's own answer text is the most similar of the batch's answers (an identical text counts). In batches of one instruction, or without one, nothing but the user tells the answers apart; in mixed batches the instruction alone names the answer's template, so a model can score there without looking at the user (the contrastive shortcut). ${r.recipe && r.recipe['train.center'] ? 'Scores are cosines of batch-centred rows, as the run trained (train.center).' : ''}`.trim();
}

/** Whether the report's instruction tuning stopped early (older results: no). */
const stoppedEarly = (r: ReportResult) => r.tuning.some((t) => t.validation);

function tuningTable(r: ReportResult): string {
  const stopped = stoppedEarly(r);
  const kept = (t: ReportResult['tuning'][number]) => (stopped ? ` ${t.validation ? `${t.validation.keptStep} of ${r.params.tuneSteps}` : '–'} |` : '');
  const lines = r.tuning.map((t) => `| ${t.scenario} | ${t.tokens} |${kept(t)} ${t.shotsLoss[0].toFixed(4)} → ${t.shotsLoss[1].toFixed(4)} | ${t.heldOut.users} | ${t.heldOut.manual.toFixed(4)} | ${t.heldOut.tuned.toFixed(4)} |`);
  const head = `| scenario | k |${stopped ? ' step kept |' : ''} Eq. 6 on the shots: before → kept | held-out users | Eq. 6 held out: written | Eq. 6 held out: tuned |`;
  return [head, `|---|---:|${stopped ? '---:|' : ''}---:|---:|---:|---:|`, ...lines].join('\n');
}

/** Eq. 6 on held-out users against the probe: does a better prototype fit give a better linear probe? */
function tuningSummary(r: ReportResult): string {
  const lower = r.tuning.filter((t) => t.heldOut.tuned < t.heldOut.manual).length;
  const claim = r.claims.find((c) => c.id === 'tuned>manual')!;
  const atStart = r.tuning.filter((t) => t.validation?.keptStep === 0).length;
  const stopping = stoppedEarly(r) ? ` Early stopping kept the written instruction's own vectors (step 0) in ${atStart} of ${r.tuning.length}.` : '';
  return `The tuned vectors lower Eq. 6 on held-out users in ${lower} of ${r.tuning.length} scenarios.${stopping} The linear probe on the evaluation users prefers them to the written instruction in ${claim.wins} of 6 (mean ΔAUC ${claim.meanDelta >= 0 ? '+' : ''}${pct(claim.meanDelta)} points). Eq. 6 rewards embeddings that sit near their class mean by cosine; the probe fits a full linear boundary, so the two can disagree.`;
}

function runsTable(r: ReportResult): string {
  const f = (x: [number, number] | null) => (x === null ? '–' : `${x[0].toFixed(3)} → ${x[1].toFixed(3)}`);
  const lines = r.runs.map((run) => `| ${run.key} | ${Object.keys(run.overrides).length ? `\`${JSON.stringify(run.overrides)}\`` : `(${r.params.preset ?? 'tiny'} preset)`} | ${run.steps} | ${f(run.lossLm)} | ${f(run.lossCl)} |`);
  return ['| run | overrides | steps | L_lm: first 10 → last 10 steps (mean) | L_cl: first 10 → last 10 steps (mean) |', '|---|---|---:|---:|---:|', ...lines].join('\n');
}

function verdictSummary(claims: ClaimResult[]): string {
  const part = (verdict: ClaimResult['verdict'], heading: string) => {
    const list = claims.filter((c) => c.verdict === verdict).map((c) => md(c.statement.replace(/ \(.*\)$/, '')));
    return `- **${heading} (${list.length} of ${claims.length})**${list.length ? `: ${list.join('; ')}` : ''}.`;
  };
  return [part('holds', 'Hold on our data'), part('mixed', 'Mixed'), part('does not hold', 'Do not hold')].join('\n');
}

/** The text-only run's prompt token budget (its data.max_text_tokens override). */
function textBudget(r: ReportResult): unknown {
  return r.runs.find((run) => run.key === 'text_only')?.overrides['data.max_text_tokens'] ?? 'data.max_text_tokens';
}

/** What a table cell holds (results written before standard errors were reported have none). */
function units(r: ReportResult): string {
  return r.main.some((row) => row.mean.aucSE !== undefined) ? 'AUC % ± SE / KS ± SE' : 'AUC % / KS';
}

/** The whole results.md. */
export function reportMarkdown(r: ReportResult): string {
  return [
    `# Results: the paper\'s Tables 2–3 protocol on synthetic users (${r.params.preset ?? 'tiny'} preset)`,
    '',
    'Generated by `instructue report`; do not edit by hand. `scripts/check-results.sh` reruns it with the parameters recorded in `docs/results.json` and fails unless every number matches within 1e-3.',
    '',
    '## Setup',
    '',
    setup(r),
    '',
    `## Table 2: main results (${units(r)})`,
    '',
    table(r.main),
    '',
    'Baselines first (the untrained backbone\'s `<USER>` state at the same random init as training; the frozen encoder\'s record vectors averaged per user plus the tabular encoding; logistic regression on raw bag-of-events counts, numeric event-field aggregates and tabular features — the same baseline as \`instructue probe --baseline\`), then InstructUE without an instruction, with the scenario\'s written instruction, and with tuned instruction vectors. Best AUC per column in bold.',
    '',
    evalHalfLine(r),
    '',
    ...(r.retrieval ? ['## Shortcut-free retrieval', '', retrievalTable(r), '', retrievalNote(r), ''] : []),
    `## Table 3: ablations (universal embedding, ${units(r)})`,
    '',
    r.ablation.length > 0 ? table(r.ablation) : 'Not run in this report (`params.ablations = false`, `--no-ablations`: six more training runs of this preset; left out to fit the time the report was made in). `instructue report` without the flag runs them, and the ablation claims below are then checked too.',
    '',
    '## Instruction tuning (prototype loss, Eq. 6)',
    '',
    tuningTable(r),
    '',
    `Held-out users are tuning-pool users that were ${stoppedEarly(r) ? 'neither shots nor early-stopping users' : 'not shots'} (a hash-chosen subset); "written" embeds them with the written instruction as text, "tuned" with the tuned vectors in its place. Lower is better.`,
    '',
    tuningSummary(r),
    '',
    '## The paper\'s claims on our data',
    '',
    claimsTable(r.claims),
    '',
    'A claim "holds" when A has the higher AUC in at least 4 of 6 scenarios and on average, "does not hold" when A wins at most 2 (or loses on average while winning at most half), and is "mixed" otherwise. The paper\'s column applies the same count to its Tables 2–3.',
    '',
    verdictSummary(r.claims),
    '',
    '## How far to trust this',
    '',
    r.recipe && r.recipe['model.finetune'] === 'full'
      ? `- The model is the ${r.params.preset} preset trained **from random init** (every decoder weight${r.recipe['model.train_encoder'] ? ' and the encoder' : ''} learns), for a few hundred steps. The paper fine-tunes a pretrained Qwen2.5-0.5B with a pretrained gte-base encoder (LoRA) on 200 million samples. The magnitudes here are not comparable with the paper\'s, and claims that rest on pretrained language understanding (a written instruction carrying meaning) cannot be expected to hold.`
      : '- The model is the tiny preset with a **random-init, frozen** decoder and encoder: only LoRA, the adapters and the special-token rows learn, for a few hundred steps. The paper fine-tunes a pretrained Qwen2.5-0.5B with a pretrained gte-base encoder on 200 million samples. The magnitudes here are not comparable with the paper\'s, and claims that rest on pretrained language understanding (a written instruction carrying meaning) cannot be expected to hold.',
    ...(r.runs.some((run) => run.key === 'text_only') ? [`- The text-only ablation keeps at most ${textBudget(r)} tokens of rendered history and tabular text: the tiny decoder has 256 positions, so the text is cut to that budget (the oldest events go first), while the soft-token runs pass every kept record as one position. Its row may see less of a user than the others.`] : []),
    '- The data are synthetic users from `instructue synth`; labels come from latent traits and an unseen future window (docs/data-format.md), so no score can approach 100 %.',
    '- The bag-of-events baseline sees the raw counts with a one-hot tabular encoding and no capacity limit beyond L2; on synthetic data built from such counts it is a strong reference, as the paper\'s classic baselines are on theirs.',
    '',
    ...(r.figure ? ['## Figure', '', `![t-SNE of universal vs instruction-aware embeddings, ${r.params.figureScenario}](${r.figure})`, '', `t-SNE of ${r.params.figureUsers} evaluation users (hash-sampled), left without instruction, right with the tuned instruction vectors of \`${r.params.figureScenario}\`, coloured by its label (the paper\'s Fig. 5 for one scenario). The same picture for any run: \`instructue plot --run RUN --data EVAL --scenario NAME --out FIG.svg\`.`, ''] : []),
    '## Training runs',
    '',
    runsTable(r),
    '',
  ].join('\n');
}
