/**
 * Test helper: a small InstructUE built at random (no tokenizers, no files) and random encoded
 * samples for it. Deterministic from the seed.
 */
import type { EncodedSample } from '../../src/data/types.js';
import { SOURCE_NAMES } from '../../src/data/types.js';
import { assembleInstructUE, type AssembleOptions } from '../../src/model/build.js';
import type { InstructUE } from '../../src/model/instructue.js';
import { Rng } from '../../src/util/rng.js';

export const TINY_TOKENIZER_VOCAB = 180;
export const TINY_ENCODER_VOCAB = 120;
export const TINY_FEATURES = 3;
export const TINY_FEATURE_DIM = 4;

export function tinyModel(overrides: Partial<AssembleOptions> = {}): InstructUE {
  return assembleInstructUE({
    seed: 7,
    decoderDims: { hidden: 16, layers: 2, heads: 4, kvHeads: 2, headSize: 4, intermediate: 24, vocab: 192, ropeTheta: 1e6, rmsEps: 1e-6, maxPositions: 128 },
    decoderSource: { kind: 'random', seed: 'dec', std: 0.2 },
    encoder: {
      dims: { hidden: 8, layers: 1, heads: 2, intermediate: 12, vocab: TINY_ENCODER_VOCAB, maxPositions: 16, typeVocab: 2, layerNormEps: 1e-12 },
      source: { kind: 'random', seed: 'enc', std: 0.2 },
    },
    lora: { r: 2, alpha: 4, useRslora: false, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    tokenizerVocab: TINY_TOKENIZER_VOCAB,
    useSequences: true,
    useTabular: true,
    tabularFeatures: TINY_FEATURES,
    tabularDim: TINY_FEATURE_DIM,
    pooling: 'user_token',
    preambleIds: [5, 6, 7],
    instructionPrefixIds: [9],
    eosId: 3,
    padId: 0,
    encoderPadId: 0,
    ...overrides,
  });
}

/** Random samples: 0–3 records per source (encoder ids with CLS=2 … SEP=3), instruction on even rows. */
export function randomSamples(count: number, seed: number | string): EncodedSample[] {
  const rng = new Rng('samples', seed);
  const ids = (n: number, vocab: number) => Array.from({ length: n }, () => 10 + rng.int(vocab - 10));
  return Array.from({ length: count }, (_, i) => {
    const records = Object.fromEntries(
      SOURCE_NAMES.map((s) => [s, Array.from({ length: rng.int(4) }, () => [2, ...ids(1 + rng.int(6), TINY_ENCODER_VOCAB), 3])]),
    ) as EncodedSample['records'];
    return {
      id: `s${seed}:${i}`,
      records,
      tabular: Float32Array.from({ length: TINY_FEATURES * TINY_FEATURE_DIM }, () => rng.normal()),
      instruction: i % 2 === 0 ? ids(2 + rng.int(3), TINY_TOKENIZER_VOCAB) : null,
      answer: ids(1 + rng.int(5), TINY_TOKENIZER_VOCAB),
    };
  });
}
