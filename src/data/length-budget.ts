/**
 * @module data/length-budget
 * How much of each record the model actually sees: the token-length distribution of rendered
 * records (encoder tokens with [CLS] and [SEP], against `model.encoder.max_len`), instructions
 * and answers (against `data.max_instruction_tokens` / `data.max_answer_tokens`), whole
 * sequences (decoder positions of prompt + answer, against `model.decoder.max_positions`; the
 * train step refuses longer ones), the text-only ablation's text (against `data.max_text_tokens`)
 * and the events left out by `data.max_records_per_source` — with a warning for every budget
 * that cuts more than a threshold share, naming the key to raise.
 *
 * Collation cuts silently (src/data/collate.ts); this is where the cut becomes visible.
 * `instructue import` and `instructue vocab` report it; the trainer can call the same meter:
 *
 *   const meter = new LengthBudgetMeter(encodeContext, budgetLayoutOf(config.model, decoderTokenizer));
 *   for (const record of records) meter.add(record);
 *   const budget = meter.result();          // plain JSON
 *   for (const w of budget.warnings) log.warn(w);
 */
import type { ModelConfig } from '../config/sections/model.js';
import type { TextTokenizer } from '../tokenizers/tokenizer.js';
import type { EncodeContext } from './collate.js';
import { LINE_SEPARATOR, PREAMBLE, INSTRUCTION_PREFIX } from './render-templates.js';
import { recentEvents, renderEvent, renderTabular } from './render.js';
import { SOURCE_NAMES, type UserQARecord } from './types.js';

/** The decoder-side facts of the prompt layout (src/model/layout.ts) that are not in EncodeContext. */
export interface BudgetLayout {
  maxPositions: number;
  /** Tokens of the preamble (0 with model.preamble = none) and of "Instruction:". */
  preambleTokens: number;
  instructionPrefixTokens: number;
  useSequences: boolean;
  useTabular: boolean;
}

/** The layout facts of a model config with its decoder tokenizer. */
export function budgetLayoutOf(model: Pick<ModelConfig, 'preamble' | 'use_sequences' | 'use_tabular'> & { decoder: { max_positions: number } }, decoderTokenizer: TextTokenizer): BudgetLayout {
  return {
    maxPositions: model.decoder.max_positions,
    preambleTokens: model.preamble === 'full' ? decoderTokenizer.encode(PREAMBLE).length : 0,
    instructionPrefixTokens: decoderTokenizer.encode(INSTRUCTION_PREFIX).length,
    useSequences: model.use_sequences,
    useTabular: model.use_tabular,
  };
}

/** One length distribution against its limit. */
export interface LengthStats {
  /** The config key of the limit. */
  key: string;
  limit: number;
  count: number;
  /** Items longer than the limit, and their share of `count`. */
  over: number;
  share: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LengthBudget {
  /** Records measured (every record given; `sampled` says when the caller measured a subset). */
  records: number;
  sampled: boolean;
  /** Rendered events the model keeps (the most recent max_records_per_source per source), tokenised for the encoder. */
  recordTokens: LengthStats | null;
  instructionTokens: LengthStats;
  answerTokens: LengthStats;
  /** Decoder positions of prompt + answer (training's longest sequence). */
  positions: LengthStats;
  /** Text-only ablation: decoder tokens of the five text blocks. */
  textTokens: LengthStats | null;
  /** Events beyond max_records_per_source (oldest first) that the model never sees. */
  events: { total: number; dropped: number; share: number; key: 'data.max_records_per_source'; limit: number };
  /** A budget warns when it cuts more than this share. */
  threshold: number;
  warnings: string[];
}

export interface LengthBudgetOptions {
  /** Warn when a budget cuts more than this share (default 0.01). */
  threshold?: number;
  /** The records given are a sample of the data set (shown in messages). */
  sampled?: boolean;
}

/** Accumulates lengths record by record (for streamed data); `result()` summarises. */
export class LengthBudgetMeter {
  private readonly recordLens: number[] = [];
  private readonly instructionLens: number[] = [];
  private readonly answerLens: number[] = [];
  private readonly positionLens: number[] = [];
  private readonly textLens: number[] = [];
  private events = 0;
  private dropped = 0;
  private records = 0;
  /** Rendered line → encoder tokens (lines repeat across a user's records). */
  private readonly lineCache = new Map<string, number>();

  constructor(private readonly ctx: EncodeContext, private readonly layout: BudgetLayout, private readonly opts: LengthBudgetOptions = {}) {}

  add(record: UserQARecord): void {
    const { ctx, layout } = this;
    this.records++;
    let positions = layout.preambleTokens + 1; // + <USER>
    let text = 0;
    for (const source of SOURCE_NAMES) {
      const all = record.sources[source];
      const kept = recentEvents(all, ctx.maxRecordsPerSource);
      this.events += all.length;
      this.dropped += all.length - kept.length;
      if (!layout.useSequences) continue;
      positions += 2;
      const lines = kept.map((e) => renderEvent(source, e));
      if (ctx.textOnly) text += ctx.decoderTokenizer.encode(lines.join(LINE_SEPARATOR)).length;
      else {
        positions += kept.length;
        for (const line of lines) this.recordLens.push(this.encoderLength(line));
      }
    }
    if (layout.useTabular) {
      positions += 2;
      if (ctx.textOnly) text += ctx.decoderTokenizer.encode(renderTabular(record.tabular)).length;
      else positions += ctx.tabularSchema.features.length;
    }
    if (ctx.textOnly) {
      this.textLens.push(text);
      positions += Math.min(text, ctx.maxTextTokens);
    }
    if (record.instruction !== null) {
      const n = ctx.decoderTokenizer.encode(record.instruction).length;
      this.instructionLens.push(n);
      positions += layout.instructionPrefixTokens + Math.min(n, ctx.maxInstructionTokens);
    }
    const answer = ctx.decoderTokenizer.encode(record.answer).length;
    this.answerLens.push(answer);
    this.positionLens.push(positions + Math.min(answer, ctx.maxAnswerTokens));
  }

  private encoderLength(line: string): number {
    let n = this.lineCache.get(line);
    if (n === undefined) {
      n = this.ctx.encoderTokenizer.encode(line).length + 2;
      if (this.lineCache.size < 200_000) this.lineCache.set(line, n);
    }
    return n;
  }

  result(): LengthBudget {
    const { ctx, layout } = this;
    const threshold = this.opts.threshold ?? 0.01;
    const budget: LengthBudget = {
      records: this.records,
      sampled: this.opts.sampled ?? false,
      recordTokens: ctx.textOnly || !layout.useSequences ? null : stats(this.recordLens, 'model.encoder.max_len', ctx.encoderMaxLen),
      instructionTokens: stats(this.instructionLens, 'data.max_instruction_tokens', ctx.maxInstructionTokens),
      answerTokens: stats(this.answerLens, 'data.max_answer_tokens', ctx.maxAnswerTokens),
      positions: stats(this.positionLens, 'model.decoder.max_positions', layout.maxPositions),
      textTokens: ctx.textOnly ? stats(this.textLens, 'data.max_text_tokens', ctx.maxTextTokens) : null,
      events: { total: this.events, dropped: this.dropped, share: this.events === 0 ? 0 : this.dropped / this.events, key: 'data.max_records_per_source', limit: ctx.maxRecordsPerSource },
      threshold,
      warnings: [],
    };
    budget.warnings = lengthWarnings(budget);
    return budget;
  }
}

/** Measures every record of `records`. */
export function measureLengthBudget(records: Iterable<UserQARecord>, ctx: EncodeContext, layout: BudgetLayout, opts: LengthBudgetOptions = {}): LengthBudget {
  const meter = new LengthBudgetMeter(ctx, layout, opts);
  for (const r of records) meter.add(r);
  return meter.result();
}

function stats(lengths: number[], key: string, limit: number): LengthStats {
  const sorted = Float64Array.from(lengths).sort();
  const q = (p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!);
  let over = 0;
  for (const n of sorted) if (n > limit) over++;
  return { key, limit, count: sorted.length, over, share: sorted.length === 0 ? 0 : over / sorted.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]! };
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** "to N keeps 90 % whole": the smallest of p90, p99, max above the limit. */
function raiseTo(s: LengthStats): string {
  if (s.p90 > s.limit) return `to ${s.p90} keeps 90 % whole`;
  if (s.p99 > s.limit) return `to ${s.p99} keeps 99 % whole`;
  return `to ${s.max} keeps all whole`;
}

/** One warning per budget that cuts more than the threshold share, naming the key and what to do. */
function lengthWarnings(b: LengthBudget): string[] {
  const out: string[] = [];
  const sample = b.sampled ? ' (in a sample of the data)' : '';
  const dist = (s: LengthStats) => `median ${s.p50}, p90 ${s.p90}, max ${s.max}`;
  const r = b.recordTokens;
  if (r && r.share > b.threshold) {
    out.push(`${pct(r.share)} of rendered records${sample} (${r.over} of ${r.count}) are longer than ${r.key} = ${r.limit} encoder tokens ([CLS] and [SEP] included; ${dist(r)}): the encoder sees only their first ${r.limit - 2} tokens. Raise ${r.key} (${raiseTo(r)}), shorten the sources' render templates, or use a vocabulary learnt from your data (instructue vocab) so real words are one token each.`);
  }
  for (const s of [b.instructionTokens, b.answerTokens, b.textTokens]) {
    if (s && s.share > b.threshold) {
      out.push(`${pct(s.share)} of ${s.key === 'data.max_text_tokens' ? 'text-only prompts' : s.key === 'data.max_answer_tokens' ? 'answers' : 'instructions'}${sample} (${s.over} of ${s.count}) are longer than ${s.key} = ${s.limit} decoder tokens (${dist(s)}) and are cut there. Raise ${s.key} (${raiseTo(s)}) or shorten the templates.`);
    }
  }
  const p = b.positions;
  if (p.over > 0) {
    out.push(`${pct(p.share)} of records${sample} (${p.over} of ${p.count}) need more than ${p.key} = ${p.limit} decoder positions (${dist(p)}); training stops with an error on the first such batch. Raise ${p.key}, or lower data.max_records_per_source / max_answer_tokens / max_instruction_tokens.`);
  }
  if (b.events.share > b.threshold) {
    out.push(`${pct(b.events.share)} of events${sample} (${b.events.dropped} of ${b.events.total}) are older than the ${b.events.limit} most recent per source that the model keeps (${b.events.key}); raise it to show more history (each kept event is one decoder position).`);
  }
  return out;
}

/** The budget as a few readable lines (tables of the distributions, then the warnings). */
export function formatLengthBudget(b: LengthBudget): string {
  const rows = [b.recordTokens, b.instructionTokens, b.answerTokens, b.positions, b.textTokens]
    .filter((s): s is LengthStats => s !== null && s.count > 0)
    .map((s) => `  ${s.key.padEnd(28)} limit ${String(s.limit).padStart(5)}  median ${String(s.p50).padStart(5)}  p90 ${String(s.p90).padStart(5)}  p99 ${String(s.p99).padStart(5)}  max ${String(s.max).padStart(5)}  over ${pct(s.share).padStart(7)} (${s.over}/${s.count})`);
  return [
    `length budget over ${b.records} records${b.sampled ? ' (a sample)' : ''}:`,
    ...rows,
    `  ${b.events.key.padEnd(28)} limit ${String(b.events.limit).padStart(5)}  events left out ${pct(b.events.share)} (${b.events.dropped}/${b.events.total})`,
    ...b.warnings.map((w) => `warning: ${w}`),
    '',
  ].join('\n');
}
