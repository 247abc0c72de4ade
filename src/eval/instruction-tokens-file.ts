/**
 * @module eval/instruction-tokens-file
 * The on-disk form of tuned instruction vectors (paper §3.3.3), written by
 * `instructue tune-instruction` and read by `embed`, `plot` and `report`: a safetensors file with
 * one F32 tensor `instruction_tokens` [k, D], and beside it `<file>.json` saying how they were
 * made (scenario, shots, steps, initial text, loss curve).
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { ConfigError, WeightsError } from '../errors.js';
import { readSafetensors, writeSafetensors } from '../weights/safetensors.js';

/** The tensor name of the instruction vectors. */
export const INSTRUCTION_TOKENS_TENSOR = 'instruction_tokens';

/** k learned instruction vectors of width d, row-major [k, d]. */
export interface InstructionTokens {
  vectors: Float32Array;
  k: number;
  d: number;
}

/** How a set of instruction vectors was tuned (the JSON sidecar). */
export interface InstructionTuningInfo {
  format: 'instructue-instruction-tokens/1';
  scenario: string;
  /** Labelled users per class used for tuning. */
  shots: number;
  steps: number;
  lr: number;
  tau: number;
  seed: number;
  /** The text whose token embeddings initialised the vectors. */
  initInstruction: string;
  /** Prototype loss (Eq. 6) on the shots before each step, then after the last one (steps + 1 values). */
  losses: number[];
  /** The model the vectors were tuned for. */
  checkpoint: string;
  /** Ids of the users used as shots, in tuning order. */
  shotIds: string[];
  /** Which labelled users could be shots: the probe's fit half (with this split seed), or all. Absent in older files. */
  split?: 'fit' | 'all';
  splitSeed?: string;
  /** Early stopping (absent without --validation): its users, interval, the steps it was measured after, its values, and the step kept. */
  validation?: { users: number; every: number; steps: number[]; losses: number[]; best: number };
}

/** The sidecar path of an instruction-tokens file. */
export function tuningInfoPath(path: string): string {
  return `${path}.json`;
}

/** Writes the vectors and their sidecar (sidecar first, each atomically). */
export async function writeInstructionTokens(path: string, tokens: InstructionTokens, info: InstructionTuningInfo): Promise<void> {
  if (tokens.vectors.length !== tokens.k * tokens.d) throw new RangeError(`instruction tokens: ${tokens.vectors.length} values do not fit k=${tokens.k}, d=${tokens.d}`);
  const sidecar = tuningInfoPath(path);
  await writeFile(`${sidecar}.tmp-${process.pid}`, JSON.stringify(info, null, 2) + '\n');
  await rename(`${sidecar}.tmp-${process.pid}`, sidecar);
  await writeSafetensors(path, { [INSTRUCTION_TOKENS_TENSOR]: { dtype: 'float32', shape: [tokens.k, tokens.d], data: tokens.vectors } });
}

/** Reads the vectors; the sidecar is read when present (null otherwise: only the tensor is needed). */
export async function readInstructionTokens(path: string): Promise<{ tokens: InstructionTokens; info: InstructionTuningInfo | null }> {
  const { tensors } = await readSafetensors(path);
  const t = tensors.get(INSTRUCTION_TOKENS_TENSOR);
  if (!t || t.dtype !== 'float32' || t.shape.length !== 2) {
    throw new WeightsError(`${path}: expected a float tensor "${INSTRUCTION_TOKENS_TENSOR}" [k, D]; write it with \`instructue tune-instruction\``);
  }
  let info: InstructionTuningInfo | null = null;
  try {
    info = JSON.parse(await readFile(tuningInfoPath(path), 'utf8')) as InstructionTuningInfo;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`${tuningInfoPath(path)}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return { tokens: { vectors: t.data as Float32Array, k: t.shape[0]!, d: t.shape[1]! }, info };
}
