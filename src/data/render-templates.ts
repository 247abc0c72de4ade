/**
 * @module data/render-templates
 * The wording of rendered records, as data: per source, an ordered list of clauses, each used
 * when its fields are present (`{field}` slots). Kept apart from the renderer so the synthetic
 * lexicon (src/data/synth/lexicon.ts) can list every word a rendering can contain.
 */
import type { SourceName } from './types.js';

/** One clause of a rendered line: emitted when every field it names is present on the event. */
export interface Clause {
  fields: string[];
  template: string;
}

/** Date clause of every line: plain dates, or dates with a time of day. */
export const DATE_TEMPLATE = 'On {date}';
export const DATE_TIME_TEMPLATE = 'On {date} at {time}';

/**
 * Per-source clauses in reading order. Bills read as narratives with amount, item, category and
 * channel (paper §3.2); mini-program lines name the app and the action; SPM lines name the
 * clicked element and the page; search lines quote the query text.
 */
export const SOURCE_CLAUSES: Record<SourceName, Clause[]> = {
  bill: [
    { fields: ['amount'], template: 'paid {amount} yuan' },
    { fields: ['item'], template: 'for {item}' },
    { fields: ['category'], template: '({category})' },
    { fields: ['channel'], template: 'via {channel}' },
  ],
  minipro: [
    { fields: ['app'], template: 'opened the {app} mini program' },
    { fields: ['action'], template: 'to {action}' },
  ],
  spm: [
    { fields: ['element'], template: 'clicked the {element}' },
    { fields: ['page'], template: 'on the {page} page' },
  ],
  search: [{ fields: ['text'], template: 'searched for "{text}"' }],
};

/** Free text of a non-search event, after the clauses. */
export const TEXT_TEMPLATE = '{text}';
/** Any other field of an event (imported data), after the text: `name value`. */
export const EXTRA_FIELD_TEMPLATE = '{name} {value}';
/** Boolean field values in words. */
export const BOOLEAN_WORDS = { true: 'yes', false: 'no' } as const;

/** Separator between the rendered lines of one source block, and between tabular entries. */
export const LINE_SEPARATOR = '; ';
export const TABULAR_SEPARATOR = ', ';

/** The Fig. 3 sentence before the sources (model.preamble = full). */
export const PREAMBLE =
  'The following are heterogeneous user data from multiple sources, including PayBill information, ' +
  'Mini Program interaction logs, Super Position Model features, Homepage search queries, and structured behavioral records:';

/** Prefix of the instruction in the Fig. 3 form. */
export const INSTRUCTION_PREFIX = 'Instruction:';
/** The special token at the end of the Fig. 3 form (placed by id in the model, shown as text in docs). */
export const USER_TOKEN = '<USER>';

/** Fills `{slot}`s of a template. */
export function fill(template: string, slots: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => slots[name] ?? '');
}
