/**
 * @module checkpoint/training-checkpoint
 * What a training checkpoint holds and how it is encoded (DESIGN.md §3.3):
 * - `trainable.safetensors`: every trainable tensor by canonical name (F32),
 * - `optimizer.safetensors`: AdamW moments `exp_avg.<name>` / `exp_avg_sq.<name>` (F32),
 * - `state.json`: step, optimizer step, LR schedule, shard cursors, RNG seed, world size,
 *   config hash and the last metrics.
 * Restoring these gives bit-identical weights and the same future sample order.
 */
import { CheckpointError } from '../errors.js';
import type { ShardState } from '../data/shards.js';
import { parseSafetensors, serializeSafetensors, type HostTensor } from '../weights/safetensors.js';
import type { AdamWState } from '../train/adamw.js';
import type { FlatLayout } from '../train/flat.js';
import type { ScheduleConfig } from '../train/schedule.js';

export const TRAINABLE_FILE = 'trainable.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'state.json';

export interface TrainingState {
  format: 'instructue-train-state/1';
  step: number;
  configHash: string;
  schedule: ScheduleConfig;
  shards: ShardState;
  rng: { seed: number };
  worldSize: number;
  /** Wall-clock of the save (informational). */
  savedAt: string;
  lastMetrics: Record<string, number | null> | null;
}

export interface TrainingCheckpoint {
  params: Float32Array;
  optimizer: AdamWState;
  state: TrainingState;
}

function tensorsOf(layout: FlatLayout, flat: Float32Array, prefix: string): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  layout.names.forEach((name, i) => {
    const start = layout.offsets[i]!;
    out.set(prefix + name, { dtype: 'float32', shape: layout.shapes[i]!, data: flat.slice(start, start + layout.sizes[i]!) });
  });
  return out;
}

function flatOf(layout: FlatLayout, tensors: Map<string, HostTensor>, prefix: string, file: string): Float32Array {
  const flat = new Float32Array(layout.total);
  layout.names.forEach((name, i) => {
    const t = tensors.get(prefix + name);
    if (!t) throw new CheckpointError('CHECKPOINT_MISMATCH', `${file}: missing tensor "${prefix + name}"; was the checkpoint written by a different model configuration?`);
    if (t.shape.join(',') !== layout.shapes[i]!.join(',')) {
      throw new CheckpointError('CHECKPOINT_MISMATCH', `${file}: tensor "${prefix + name}" has shape [${t.shape}], the model needs [${layout.shapes[i]}]`);
    }
    flat.set(t.data as Float32Array, layout.offsets[i]);
  });
  const expected = layout.names.length;
  const found = [...tensors.keys()].filter((k) => k.startsWith(prefix)).length;
  if (found !== expected) throw new CheckpointError('CHECKPOINT_MISMATCH', `${file}: holds ${found} tensors with prefix "${prefix}", the model has ${expected}`);
  return flat;
}

export function encodeTrainingCheckpoint(layout: FlatLayout, ckpt: TrainingCheckpoint): Map<string, Uint8Array> {
  const optimizer = new Map([...tensorsOf(layout, ckpt.optimizer.m, 'exp_avg.'), ...tensorsOf(layout, ckpt.optimizer.v, 'exp_avg_sq.')]);
  return new Map([
    [TRAINABLE_FILE, serializeSafetensors(tensorsOf(layout, ckpt.params, ''), { metadata: { format: 'instructue', step: String(ckpt.state.step) } })],
    [OPTIMIZER_FILE, serializeSafetensors(optimizer, { metadata: { format: 'instructue', optimizer: 'adamw', step: String(ckpt.optimizer.step) } })],
    [STATE_FILE, new TextEncoder().encode(JSON.stringify(ckpt.state, null, 2) + '\n')],
  ]);
}

export function decodeTrainingCheckpoint(layout: FlatLayout, files: Map<string, Uint8Array>, location: string): TrainingCheckpoint {
  const need = (name: string) => {
    const bytes = files.get(name);
    if (!bytes) throw new CheckpointError('CHECKPOINT_INVALID', `${location}: missing ${name}`);
    return bytes;
  };
  const state = JSON.parse(new TextDecoder().decode(need(STATE_FILE))) as TrainingState;
  if (state.format !== 'instructue-train-state/1') throw new CheckpointError('CHECKPOINT_INVALID', `${location}/${STATE_FILE}: unknown format ${JSON.stringify(state.format)}`);
  const params = flatOf(layout, parseSafetensors(need(TRAINABLE_FILE), `${location}/${TRAINABLE_FILE}`).tensors, '', `${location}/${TRAINABLE_FILE}`);
  const parsed = parseSafetensors(need(OPTIMIZER_FILE), `${location}/${OPTIMIZER_FILE}`);
  const file = `${location}/${OPTIMIZER_FILE}`;
  const optimizer: AdamWState = {
    step: Number(parsed.metadata.step),
    m: flatOf(layout, parsed.tensors, 'exp_avg.', file),
    v: flatOf(layout, parsed.tensors, 'exp_avg_sq.', file),
  };
  if (!Number.isInteger(optimizer.step)) throw new CheckpointError('CHECKPOINT_INVALID', `${file}: metadata "step" is not an integer`);
  return { params, optimizer, state };
}
