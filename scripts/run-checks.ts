/**
 * Checks of a finished run folder shared by the tests and the soak script: the exactly-once
 * record (RUN/consumed.jsonl) and the weights of a checkpoint compared with another run's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stepName } from '../src/checkpoint/store.js';
import { TRAINABLE_FILE } from '../src/train/checkpoint.js';
import { concatArrays } from '../src/train/comm.js';
import { readJsonLines } from '../src/train/run-dir.js';
import { parseSafetensors } from '../src/weights/safetensors.js';

interface ConsumedLine { epoch: number; step: number; rank: number; ids: string[] }

export interface ExactlyOnce {
  ok: boolean;
  /** The first broken promise, when one broke. */
  problem: string | null;
  epochs: number;
  steps: number;
  ranks: Set<number>;
}

/**
 * In RUN/consumed.jsonl every data epoch uses no sample twice, every complete epoch (one with a
 * later epoch after it) uses all `numSamples`, and the committed steps are 1, 2, 3, … once each.
 */
export function exactlyOnce(run: string, numSamples: number): ExactlyOnce {
  const lines = readJsonLines<ConsumedLine>(join(run, 'consumed.jsonl'));
  const byEpoch = new Map<number, string[]>();
  for (const l of lines) byEpoch.set(l.epoch, [...(byEpoch.get(l.epoch) ?? []), ...l.ids]);
  const epochs = [...byEpoch.keys()].sort((a, b) => a - b);
  const steps = [...new Set(lines.map((l) => l.step))];
  const result = (problem: string | null): ExactlyOnce => ({ ok: problem === null, problem, epochs: epochs.length, steps: steps.length, ranks: new Set(lines.map((l) => l.rank)) });
  for (const e of epochs) {
    const ids = byEpoch.get(e)!;
    if (new Set(ids).size !== ids.length) return result(`epoch ${e} used a sample twice`);
    if (e < epochs[epochs.length - 1]! && ids.length !== numSamples) return result(`epoch ${e} used ${ids.length} of ${numSamples} samples`);
  }
  if (steps.some((s, i) => s !== i + 1)) return result('committed steps must be 1, 2, 3, … without gaps or repeats');
  const perStep = new Map<number, number[]>();
  for (const l of lines) perStep.set(l.step, [...(perStep.get(l.step) ?? []), l.rank]);
  for (const [step, ranks] of perStep) if (new Set(ranks).size !== ranks.length) return result(`step ${step} has a rank logged twice`);
  return result(null);
}

/** A checkpoint's trainable values, in tensor-name order. */
export function checkpointWeights(run: string, step: number): Float32Array {
  const parsed = parseSafetensors(readFileSync(join(run, 'checkpoints', stepName(step), TRAINABLE_FILE)), TRAINABLE_FILE);
  return concatArrays([...parsed.tensors.keys()].sort().map((n) => parsed.tensors.get(n)!.data as Float32Array));
}

/** ‖a − b‖₂ / ‖b‖₂ and max |a − b|. */
export function weightDiff(a: Float32Array, b: Float32Array): { relative: number; maxAbs: number } {
  if (a.length !== b.length) throw new Error(`weights of ${a.length} and ${b.length} values`);
  let d = 0;
  let n = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
  }
  return { relative: Math.sqrt(d / n), maxAbs: m };
}
