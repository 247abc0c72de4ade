/**
 * @module data/synth/lexicon
 * Every word the synthetic generator and the renderers can emit, for the tiny preset's built-in
 * vocabulary (src/tokenizers/wordpiece-vocab.ts, chosen in src/train/run-model.ts): the render templates and the Fig. 3 preamble, every
 * string of the synthetic catalog, tabular feature names and categories, and all instruction and
 * answer templates. Words are lowercase runs of ASCII letters, in first-appearance order;
 * numbers and punctuation are left to the vocabulary's character tokens.
 */
import { BOOLEAN_WORDS, DATE_TEMPLATE, DATE_TIME_TEMPLATE, EXTRA_FIELD_TEMPLATE, INSTRUCTION_PREFIX, PREAMBLE, SOURCE_CLAUSES, TEXT_TEMPLATE } from '../render-templates.js';
import { SOURCE_NAMES } from '../types.js';
import * as catalog from './catalog.js';
import { CARE_LEVELS, HABIT_LEVELS, PROFILE_TEMPLATE, QUESTIONS } from './qa.js';
import { SCENARIO_INSTRUCTIONS } from './scenarios.js';
import { SYNTH_TABULAR_FEATURES } from './tabular-features.js';

/** Lowercase letter-words of a text, in order (`user's` → `user`, `s`; `{slot}` names are not words). */
export function lexiconWords(text: string): string[] {
  return text.replace(/\{\w+\}/g, ' ').toLowerCase().match(/[a-z]+/g) ?? [];
}

/** Every string inside a value (objects and arrays walked depth-first, keys excluded). */
function* stringsIn(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (Array.isArray(value)) for (const v of value) yield* stringsIn(v);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) yield* stringsIn(v);
}

function* lexiconTexts(): Generator<string> {
  yield* [PREAMBLE, INSTRUCTION_PREFIX, DATE_TEMPLATE, DATE_TIME_TEMPLATE, TEXT_TEMPLATE, EXTRA_FIELD_TEMPLATE, 'tabular user'];
  yield* Object.values(BOOLEAN_WORDS);
  yield* SOURCE_NAMES;
  for (const source of SOURCE_NAMES) for (const clause of SOURCE_CLAUSES[source]) yield clause.template;
  yield* stringsIn(catalog);
  for (const f of SYNTH_TABULAR_FEATURES) yield* [f.name, ...('categories' in f ? f.categories : [])];
  for (const q of Object.values(QUESTIONS)) yield* [...q.instructions, ...q.answers];
  yield* [PROFILE_TEMPLATE, ...HABIT_LEVELS, ...CARE_LEVELS];
  yield* Object.values(SCENARIO_INSTRUCTIONS);
}

/** The synthetic vocabulary (see the module comment). */
export const SYNTH_LEXICON: string[] = [...new Set([...lexiconTexts()].flatMap(lexiconWords))];
