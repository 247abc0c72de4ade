/**
 * @module data/synth/lexicon
 * Every word the synthetic generator and the renderers can emit, for the tiny preset's built-in
 * vocabulary (src/model/wordpiece-vocab.ts): words are lowercase runs of ASCII letters, in first
 * appearance order; numbers and punctuation are left to the vocabulary's character tokens.
 */
import { DATE_TEMPLATE, DATE_TIME_TEMPLATE, INSTRUCTION_PREFIX, PREAMBLE, SOURCE_CLAUSES, TEXT_TEMPLATE, BOOLEAN_WORDS } from '../render-templates.js';
import { SOURCE_NAMES } from '../types.js';

/** Lowercase letter-words of a text, in order (`user's` → `user`, `s`). */
export function lexiconWords(text: string): string[] {
  return (text.toLowerCase().match(/[a-z]+/g) ?? []) as string[];
}

function collect(texts: Iterable<string>): string[] {
  const seen = new Set<string>();
  for (const text of texts) for (const w of lexiconWords(text.replace(/\{\w+\}/g, ' '))) seen.add(w);
  return [...seen];
}

function* rendererTexts(): Generator<string> {
  yield PREAMBLE;
  yield INSTRUCTION_PREFIX;
  yield DATE_TEMPLATE;
  yield DATE_TIME_TEMPLATE;
  yield TEXT_TEMPLATE;
  yield* Object.values(BOOLEAN_WORDS);
  yield* SOURCE_NAMES;
  yield 'tabular user';
  for (const source of SOURCE_NAMES) for (const clause of SOURCE_CLAUSES[source]) yield clause.template;
}

/** The synthetic vocabulary (see the module comment). */
export const SYNTH_LEXICON: string[] = collect(rendererTexts());
