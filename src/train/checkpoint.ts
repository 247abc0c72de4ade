/**
 * @module train/checkpoint
 * What a training checkpoint holds and the one way to write and read it (DESIGN.md §3.3), for
 * the single process, rank 0 of a cluster and the coordinator alike:
 * - `trainable.safetensors`: every trainable tensor by canonical name (F32),
 * - `optimizer.safetensors`: AdamW moments `exp_avg.<name>` / `exp_avg_sq.<name>` (F32),
 * - `state.json` (`CheckpointMeta`): step, LR schedule, shard cursors, RNG seed, world size,
 *   the run-identity hash and the last metrics.
 * `readCheckpointMeta` is the one place that refuses a checkpoint of another run configuration;
 * `decodeCheckpoint` turns the files into the `TrainState` of a model's parameter layout.
 * Storage (atomic publish, manifests, keep-last-k) is `src/checkpoint/`'s business.
 */
import type { CheckpointStore, LoadedCheckpoint } from '../checkpoint/store.js';
import type { Frozen } from '../config/load.js';
import type { WorkerConfig } from '../config/worker-config.js';
import type { ShardState } from '../data/shards.js';
import { CheckpointError } from '../errors.js';
import { parseSafetensors, serializeSafetensors, type HostTensor } from '../weights/safetensors.js';
import type { FlatLayout } from './flat.js';
import { runIdentityHash } from '../config/identity.js';
import type { ScheduleConfig } from './schedule.js';
import type { TrainState } from './train-state.js';

export const TRAINABLE_FILE = 'trainable.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'state.json';
const FORMAT = 'instructue-train-state/1';

/** `state.json`: everything of a checkpoint except the tensors. */
export interface CheckpointMeta {
  format: typeof FORMAT;
  step: number;
  /** `runIdentityHash` of the config that wrote it. */
  configHash: string;
  schedule: ScheduleConfig;
  shards: ShardState;
  rng: { seed: number };
  worldSize: number;
  /** Wall-clock of the save (informational). */
  savedAt: string;
  lastMetrics: Record<string, number | null> | null;
}

export interface CheckpointContext {
  config: Frozen<WorkerConfig>;
  schedule: ScheduleConfig;
  worldSize: number;
  metrics: Record<string, number | null> | null;
}

/** The state.json of `state` written under `ctx`. */
export function checkpointMeta(state: TrainState, ctx: CheckpointContext): CheckpointMeta {
  return {
    format: FORMAT, step: state.cursor.step, configHash: runIdentityHash(ctx.config), schedule: ctx.schedule,
    shards: state.cursor.shards, rng: { seed: ctx.config.seed }, worldSize: ctx.worldSize,
    savedAt: new Date().toISOString(), lastMetrics: ctx.metrics,
  };
}

/** Encodes and publishes `state` through `store`; returns where it landed. */
export async function saveCheckpoint(store: CheckpointStore, layout: FlatLayout, state: TrainState, ctx: CheckpointContext): Promise<string> {
  return store.save(state.cursor.step, encodeCheckpoint(layout, state, checkpointMeta(state, ctx)));
}

export function encodeCheckpoint(layout: FlatLayout, state: TrainState, meta: CheckpointMeta): Map<string, Uint8Array> {
  const optimizer = new Map([...tensorsOf(layout, state.m, 'exp_avg.'), ...tensorsOf(layout, state.v, 'exp_avg_sq.')]);
  const step = String(state.cursor.step);
  return new Map([
    [TRAINABLE_FILE, serializeSafetensors(tensorsOf(layout, state.params, ''), { metadata: { format: 'instructue', step } })],
    [OPTIMIZER_FILE, serializeSafetensors(optimizer, { metadata: { format: 'instructue', optimizer: 'adamw', step } })],
    [STATE_FILE, new TextEncoder().encode(JSON.stringify(meta, null, 2) + '\n')],
  ]);
}

/**
 * Parses a checkpoint's state.json and refuses one written with another run configuration
 * (model, data or optimisation settings: the keys `src/config/identity.ts` counts) unless
 * `allowConfigChange`. @throws CheckpointError
 */
export function readCheckpointMeta(loaded: LoadedCheckpoint, config: Frozen<WorkerConfig>, allowConfigChange: boolean): CheckpointMeta {
  const meta = parseCheckpointMeta(loaded);
  if (meta.configHash !== runIdentityHash(config) && !allowConfigChange) {
    throw new CheckpointError(
      'CHECKPOINT_MISMATCH',
      `${loaded.location} was written with a different configuration (model, data or optimisation settings changed). Resume with the original config, or pass --allow-config-change to continue anyway.`,
    );
  }
  return meta;
}

/** Parses and checks a checkpoint's state.json (no run-identity check: see `readCheckpointMeta`). @throws CheckpointError */
export function parseCheckpointMeta(loaded: LoadedCheckpoint): CheckpointMeta {
  const file = `${loaded.location}/${STATE_FILE}`;
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(new TextDecoder().decode(need(loaded, STATE_FILE))) as CheckpointMeta;
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('CHECKPOINT_INVALID', `${file}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (meta.format !== FORMAT) throw new CheckpointError('CHECKPOINT_INVALID', `${file}: unknown format ${JSON.stringify(meta.format)}`);
  if (meta.step !== loaded.step) throw new CheckpointError('CHECKPOINT_INVALID', `${file}: says step ${meta.step}, the folder is step ${loaded.step}`);
  return meta;
}

/** The whole training state of a checkpoint whose `meta` was read (and checked) already. */
export function decodeCheckpoint(layout: FlatLayout, loaded: LoadedCheckpoint, meta: CheckpointMeta): TrainState {
  const trainableFile = `${loaded.location}/${TRAINABLE_FILE}`;
  const optimizerFile = `${loaded.location}/${OPTIMIZER_FILE}`;
  const params = flatOf(layout, parseSafetensors(need(loaded, TRAINABLE_FILE), trainableFile).tensors, '', trainableFile);
  const optimizer = parseSafetensors(need(loaded, OPTIMIZER_FILE), optimizerFile);
  if (Number(optimizer.metadata.step) !== meta.step) {
    throw new CheckpointError('CHECKPOINT_INVALID', `${optimizerFile}: metadata step ${JSON.stringify(optimizer.metadata.step)} does not match state.json's step ${meta.step}`);
  }
  return {
    cursor: { step: meta.step, shards: meta.shards },
    params,
    m: flatOf(layout, optimizer.tensors, 'exp_avg.', optimizerFile),
    v: flatOf(layout, optimizer.tensors, 'exp_avg_sq.', optimizerFile),
  };
}

function need(loaded: LoadedCheckpoint, name: string): Uint8Array {
  const bytes = loaded.files.get(name);
  if (!bytes) throw new CheckpointError('CHECKPOINT_INVALID', `${loaded.location}: missing ${name}`);
  return bytes;
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
  const found = [...tensors.keys()].filter((k) => k.startsWith(prefix)).length;
  if (found !== layout.names.length) throw new CheckpointError('CHECKPOINT_MISMATCH', `${file}: holds ${found} tensors with prefix "${prefix}", the model has ${layout.names.length}`);
  return flat;
}
