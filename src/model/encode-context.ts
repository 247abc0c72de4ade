/**
 * @module model/encode-context
 * The per-sample encoding settings of a model: its tokenizers and the caps of the config. The
 * training session and the inference commands (embed, tune-instruction, plot, report) build it
 * here, so a user is encoded at inference exactly as in training.
 */
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import type { EncodeContext } from '../data/collate.js';
import type { TabularSchema } from '../data/tabular.js';
import type { BuiltModel } from './build.js';

/** The EncodeContext of `config` with the tokenizers of `built`. */
export function encodeContextOf(config: Frozen<Pick<InstructueConfig, 'model' | 'data'>>, built: BuiltModel, tabularSchema: TabularSchema): EncodeContext {
  return {
    decoderTokenizer: built.decoderTokenizer,
    encoderTokenizer: built.encoderTokenizer,
    tabularSchema,
    tabularDim: config.model.tabular_dim,
    maxRecordsPerSource: config.data.max_records_per_source,
    encoderMaxLen: config.model.encoder.max_len,
    maxInstructionTokens: config.data.max_instruction_tokens,
    maxAnswerTokens: config.data.max_answer_tokens,
    textOnly: config.model.input_mode === 'text_only',
    maxTextTokens: config.data.max_text_tokens,
  };
}
