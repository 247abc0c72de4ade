/**
 * @module eval/instruction-input
 * How an inference pass gives records an instruction: the record with its instruction text
 * replaced, and learned instruction vectors as a tensor checked against the model width.
 */
import { tf, type Tensor } from '../backend/tf.js';
import type { Sample } from '../data/types.js';
import { UsageError } from '../errors.js';
import type { InstructUE } from '../model/instructue.js';
import type { InstructionTokens } from './instruction-tokens-file.js';

/** The sample with its instruction replaced (undefined = unchanged). */
export function withInstruction(sample: Sample, instruction: string | null | undefined): Sample {
  return instruction === undefined ? sample : { id: sample.id, record: { ...sample.record, instruction } };
}

/** The instruction vectors as a tensor [k, D], checked against the model width. */
export function instructionTensor(model: InstructUE, tokens: InstructionTokens): Tensor {
  if (tokens.d !== model.hidden) {
    throw new UsageError(`the instruction tokens are ${tokens.d} wide but the model's hidden size is ${model.hidden}; tune them for this model`);
  }
  return tf.tensor2d(tokens.vectors, [tokens.k, tokens.d]);
}

