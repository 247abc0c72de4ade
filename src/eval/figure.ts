/**
 * @module eval/figure
 * The paper's Fig. 5 for one scenario: t-SNE of the universal embeddings (no instruction) next
 * to the instruction-aware ones (written instruction and/or tuned vectors) of the same users,
 * points coloured by the scenario label. Rows are L2-normalised before t-SNE because the model
 * compares embeddings by cosine (Eq. 2, Eq. 6); both panels share the t-SNE seed.
 */
import type { EncodeContext } from '../data/collate.js';
import type { InstructUE } from '../model/instructue.js';
import { embedUsers } from './embed.js';
import type { InstructionTokens } from './instruction-tokens-file.js';
import type { LabelledSample } from './instruction-tuning.js';
import { sampleByUserHash } from './labelled-samples.js';
import { scatterSvg } from './svg-scatter.js';
import { tsne } from './tsne.js';

/** Most users a figure shows (exact t-SNE is O(n²) per iteration). */
export const MAX_FIGURE_USERS = 1000;

export interface FigureOptions {
  context: EncodeContext;
  scenario: string;
  /** Users to show (≤ MAX_FIGURE_USERS), sampled by a hash of the user id. */
  users: number;
  /** Instruction text of the right panel (null/undefined = none, then `instructionTokens` must be given). */
  instruction?: string | null;
  instructionTokens?: InstructionTokens;
  /** t-SNE iterations (default 1000) and perplexity (default 30). */
  iterations?: number;
  perplexity?: number;
  seed?: string;
}

export interface Figure {
  svg: string;
  /** Users drawn per panel. */
  users: number;
  /** KL divergence of each panel's final t-SNE layout. */
  kl: [number, number];
}

/** Rows scaled to unit length (zero rows stay zero). */
function normalizeRows(x: Float32Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += x[i * d + j]! * x[i * d + j]!;
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j]! * scale;
  }
  return out;
}

/** A short panel title for the instruction-aware side. */
function instructionTitle(opts: FigureOptions): string {
  const parts = [opts.instruction ? `"${opts.instruction}"` : '', opts.instructionTokens ? `${opts.instructionTokens.k} tuned vectors` : ''].filter(Boolean);
  return `Instruction-aware: ${parts.join(' + ')}`;
}

/** Embeds the sampled users twice, lays both out with t-SNE and draws the two panels. */
export async function instructionFigure(model: InstructUE, labelled: LabelledSample[], opts: FigureOptions): Promise<Figure> {
  if (!opts.instruction && !opts.instructionTokens) throw new RangeError('a figure needs an instruction text or instruction tokens for its right panel');
  if (!(opts.users >= 2 && opts.users <= MAX_FIGURE_USERS)) throw new RangeError(`a figure shows 2…${MAX_FIGURE_USERS} users; got ${opts.users}`);
  const picked = sampleByUserHash(labelled, opts.users, `figure/${opts.scenario}`);
  const samples = picked.map((p) => p.sample);
  const labels = picked.map((p) => p.label);
  const n = picked.length;
  const perplexity = Math.min(opts.perplexity ?? 30, (n - 1) / 3);
  const layout = async (instruction: string | null, tokens?: InstructionTokens) => {
    const e = await embedUsers(model, samples, { context: opts.context, instruction, instructionTokens: tokens });
    return tsne(normalizeRows(e.embeddings, n, e.d), n, e.d, { perplexity, iterations: opts.iterations, seed: opts.seed ?? 'figure' });
  };
  const universal = await layout(null);
  const aware = await layout(opts.instruction ?? null, opts.instructionTokens);
  const svg = scatterSvg(
    [
      { title: 'Universal (no instruction)', points: universal.Y, labels },
      { title: instructionTitle(opts), points: aware.Y, labels },
    ],
    { title: `t-SNE of ${n} users, coloured by ${opts.scenario}`, labelNames: [`${opts.scenario} = 0`, `${opts.scenario} = 1`] },
  );
  return { svg, users: n, kl: [universal.kl, aware.kl] };
}
