/**
 * @module data/bag-of-events
 * The simplest user representation: how often each kind of event occurs. An event's keys are
 * `source:field=value` for its text-valued and boolean fields (`bill:category=fast food`,
 * `spm:page=games`) and `source:text~word` for each word of its free text; numbers (amounts),
 * time stamps and rendered lines (`line`) are not keys. Used to calibrate the synthetic generator (`synth --report`)
 * and as a non-neural baseline in evaluation.
 */
import { SOURCE_NAMES, type SourceEvent, type SourceName, type UserQARecord } from './types.js';

/** Event keys kept as features, in feature order. */
export interface EventVocabulary {
  keys: string[];
  index: Map<string, number>;
}

/** The keys of one event (see the module comment); a word repeated in a text counts once per occurrence. */
export function eventKeys(source: SourceName, event: SourceEvent): string[] {
  const keys: string[] = [];
  for (const [field, value] of Object.entries(event)) {
    // `line` repeats the event's fields as rendered text; counting it would duplicate them.
    if (field === 'ts' || field === 'line' || value === undefined) continue;
    if (field === 'text' && typeof value === 'string') {
      for (const word of value.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) keys.push(`${source}:text~${word}`);
    } else if (typeof value === 'string') {
      keys.push(`${source}:${field}=${value}`);
    } else if (typeof value === 'boolean') {
      keys.push(`${source}:${field}=${value ? 'yes' : 'no'}`);
    }
  }
  return keys;
}

/** Counts event keys over records, one record at a time (for streamed data). */
export class EventVocabularyBuilder {
  private readonly counts = new Map<string, number>();

  add(record: UserQARecord): void {
    for (const source of SOURCE_NAMES) {
      for (const event of record.sources[source]) for (const key of eventKeys(source, event)) this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    }
  }

  /** The keys seen in at least `minCount` events, sorted, so the result does not depend on record order. */
  build(minCount = 5): EventVocabulary {
    const keys = [...this.counts].filter(([, n]) => n >= minCount).map(([k]) => k).sort();
    return { keys, index: new Map(keys.map((k, i) => [k, i])) };
  }
}

/** The vocabulary of `records`: keys occurring in at least `minCount` events (default 5). */
export function buildEventVocabulary(records: Iterable<UserQARecord>, minCount = 5): EventVocabulary {
  const builder = new EventVocabularyBuilder();
  for (const record of records) builder.add(record);
  return builder.build(minCount);
}

/**
 * Features of one record: log(1 + count) of every vocabulary key, then log(1 + number of
 * events) per source (bill, minipro, spm, search). Length = keys.length + 4.
 */
export function bagOfEventsFeatures(record: UserQARecord, vocabulary: EventVocabulary): Float64Array {
  const out = new Float64Array(vocabulary.keys.length + SOURCE_NAMES.length);
  SOURCE_NAMES.forEach((source, s) => {
    const events = record.sources[source];
    for (const event of events) {
      for (const key of eventKeys(source, event)) {
        const i = vocabulary.index.get(key);
        if (i !== undefined) out[i]++;
      }
    }
    out[vocabulary.keys.length + s] = events.length;
  });
  for (let i = 0; i < out.length; i++) out[i] = Math.log1p(out[i]);
  return out;
}
