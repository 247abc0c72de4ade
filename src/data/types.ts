/**
 * @module data/types
 * The contract between the data layer and the model. A UserQA record (docs/data-format.md) is
 * read and validated by the data layer, rendered and tokenised per sample into an
 * `EncodedSample` (token ids and tabular features only), and the model turns a list of those
 * into tensors (src/model/layout.ts).
 */

/** The four sequential behaviour sources of the paper, in Fig. 3 order. */
export const SOURCE_NAMES = ['bill', 'minipro', 'spm', 'search'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

/** One time-stamped behaviour record; structured fields and/or free text. */
export interface SourceEvent {
  /** ISO-8601 date or date-time. */
  ts: string;
  /** Free text (e.g. a search query); rendered as-is when present. */
  text?: string;
  /** The whole rendered line (written by `import` from a source's render template); shown after the date instead of the clauses. */
  line?: string;
  /** Structured fields, rendered by the source's template. */
  [field: string]: string | number | boolean | undefined;
}

/** One line of a UserQA JSONL file. */
export interface UserQARecord {
  user_id: string;
  sources: Record<SourceName, SourceEvent[]>;
  tabular: Record<string, number | string>;
  /** null = general mode (no instruction). */
  instruction: string | null;
  answer: string;
  /** Binary labels per evaluation scenario (evaluation files only). */
  labels?: Record<string, 0 | 1>;
}

/** A record with its stable sample id (`<shard file stem>:<line number>`), unique in a data set. */
export interface Sample {
  id: string;
  record: UserQARecord;
}

/** Token-level form of one sample, ready for the model's layout step. */
export interface EncodedSample {
  id: string;
  /** Per source, per kept record (oldest first): encoder token ids with [CLS] … [SEP], capped at encoder.max_len. */
  records: Record<SourceName, number[][]>;
  /** F×D tabular feature embeddings, row-major (F = features in the tabular schema, D = model.tabular_dim). */
  tabular: Float32Array;
  /** Decoder token ids of the instruction text (without the "Instruction:" prefix); null = general mode. */
  instruction: number[] | null;
  /** Decoder token ids of the answer, without the end token. */
  answer: number[];
  /** Text-only ablation: decoder token ids of each source block's rendered lines (no delimiters), and of the tabular block. */
  text?: Record<SourceName | 'tabular', number[]>;
}
