/**
 * @module train/train-state
 * The one shape of the training state (torchtitan's `Stateful` states): what a checkpoint holds,
 * what a rank keeps in memory after each step, what an epoch start broadcasts and what resume
 * restores. `TrainCursor` is its small JSON part: the step (= the optimizer's step count) and
 * the data position. Every random draw of training is a function of (seed, step), so the seed
 * in the config is the whole RNG state.
 */
import type { ShardState } from '../data/shards.js';

/** Step and data position: the JSON part of the state (state.json, epoch assignments). */
export interface TrainCursor {
  /** Optimizer steps taken. */
  step: number;
  shards: ShardState;
}

export interface TrainState {
  cursor: TrainCursor;
  /** Trainable values, flat in the parameter layout's order (src/train/flat.ts). */
  params: Float32Array;
  /** AdamW first and second moments, same layout. */
  m: Float32Array;
  v: Float32Array;
}

/** params ‖ m ‖ v: the float payload of an epoch-start broadcast. */
export function packState(s: TrainState): Float32Array {
  const n = s.params.length;
  const out = new Float32Array(3 * n);
  out.set(s.params, 0);
  out.set(s.m, n);
  out.set(s.v, 2 * n);
  return out;
}

/** The inverse of `packState`, with the cursor that travelled beside the floats. */
export function unpackState(flat: Float32Array, cursor: TrainCursor): TrainState {
  const n = flat.length / 3;
  return { cursor, params: flat.slice(0, n), m: flat.slice(n, 2 * n), v: flat.slice(2 * n) };
}
