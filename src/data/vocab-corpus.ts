/**
 * @module data/vocab-corpus
 * The texts of a UserQA data set that the model's tokenizers read, for learning a vocabulary
 * from the user's own data (`instructue vocab`): every rendered event line and the tabular line
 * of each user (once per user, though a user has several records), every instruction and
 * answer, and the fixed prompt texts (the Fig. 3 preamble, "Instruction:").
 */
import { INSTRUCTION_PREFIX, PREAMBLE } from './render-templates.js';
import { renderEvent, renderTabular } from './render.js';
import { SOURCE_NAMES, type UserQARecord } from './types.js';

/** Texts every prompt contains, whatever the data. */
export const PROMPT_TEXTS: readonly string[] = [PREAMBLE, INSTRUCTION_PREFIX];

/** Yields the texts of records one at a time; a user's profile is read from their first record only. */
export class CorpusReader {
  private readonly seen = new Set<string>();
  /** Users and records read so far. */
  users = 0;
  records = 0;

  *texts(record: UserQARecord): Generator<string> {
    this.records++;
    if (!this.seen.has(record.user_id)) {
      this.seen.add(record.user_id);
      this.users++;
      for (const source of SOURCE_NAMES) for (const e of record.sources[source]) yield renderEvent(source, e);
      yield renderTabular(record.tabular);
    }
    if (record.instruction !== null) yield record.instruction;
    yield record.answer;
  }
}
