/**
 * @module train/checkpoint
 * What a training checkpoint holds and the one way to write and read it (DESIGN.md §3.3), for
 * the single process, rank 0 of a cluster and the coordinator alike:
 * - `trainable.safetensors`: every trainable tensor by canonical name (F32),
 * - `optimizer.safetensors`: AdamW moments `exp_avg.<name>` / `exp_avg_sq.<name>` (F32),
 * - `state.json` (`CheckpointMeta`): step, LR schedule, shard cursors, RNG seed, world size,
 *   the run-identity hash, the data fingerprint and the last metrics.
 * `readCheckpointMeta` is the one place that refuses a checkpoint of another run configuration,
 * `checkCheckpointData` the one place that refuses one of other data (single process and
 * coordinator alike); `decodeCheckpoint` turns the files into the `TrainState` of a model's
 * parameter layout. Storage (atomic publish, manifests, keep-last-k) is `src/checkpoint/`'s
 * business; `openCheckpointStore` tells it which files a checkpoint must hold.
 */
import { FsCheckpointStore } from '../checkpoint/fs-store.js';
import type { CheckpointStore, LoadedCheckpoint } from '../checkpoint/store.js';
import type { Frozen } from '../config/load.js';
import type { WorkerConfig } from '../config/worker-config.js';
import { describeDataChange, type DataFingerprint } from '../data/fingerprint.js';
import { VirtualShards, type ShardState } from '../data/shards.js';
import { CheckpointError } from '../errors.js';
import type { Logger } from '../log.js';
import { parseSafetensors, serializeSafetensors, type HostTensor } from '../weights/safetensors.js';
import type { FlatLayout } from './flat.js';
import { runIdentityHash } from '../config/identity.js';
import type { ScheduleConfig } from './schedule.js';
import type { TrainState } from './train-state.js';

export const TRAINABLE_FILE = 'trainable.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'state.json';
const FORMAT = 'instructue-train-state/1';
/** Every training checkpoint holds these (the store marks one whose manifest lacks any as corrupt). */
export const CHECKPOINT_FILES: readonly string[] = [TRAINABLE_FILE, OPTIMIZER_FILE, STATE_FILE];

/** The run folder's checkpoint store (RUN/checkpoints), requiring the files of a training checkpoint. */
export function openCheckpointStore(dir: string, keepLast: number): FsCheckpointStore {
  return new FsCheckpointStore(dir, keepLast, CHECKPOINT_FILES);
}

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
  /** The training data the data position was drawn from (absent in checkpoints older than it). */
  data?: DataFingerprint;
  /** Wall-clock of the save (informational). */
  savedAt: string;
  lastMetrics: Record<string, number | null> | null;
}

export interface CheckpointContext {
  config: Frozen<WorkerConfig>;
  schedule: ScheduleConfig;
  worldSize: number;
  /** The session's data set (`Dataset.fingerprint`). */
  data: DataFingerprint;
  metrics: Record<string, number | null> | null;
}

/** The state.json of `state` written under `ctx`. */
export function checkpointMeta(state: TrainState, ctx: CheckpointContext): CheckpointMeta {
  return {
    format: FORMAT, step: state.cursor.step, configHash: runIdentityHash(ctx.config), schedule: ctx.schedule,
    shards: state.cursor.shards, rng: { seed: ctx.config.seed }, worldSize: ctx.worldSize, data: ctx.data,
    savedAt: new Date().toISOString(), lastMetrics: ctx.metrics,
  };
}

/** Where a checkpoint landed and the bytes of its files (for the checkpoint metrics). */
export interface SavedCheckpoint {
  path: string;
  bytes: number;
}

/** Encodes and publishes `state` through `store`. */
export async function saveCheckpoint(store: CheckpointStore, layout: FlatLayout, state: TrainState, ctx: CheckpointContext): Promise<SavedCheckpoint> {
  const files = encodeCheckpoint(layout, state, checkpointMeta(state, ctx));
  const bytes = [...files.values()].reduce((n, f) => n + f.byteLength, 0);
  return { path: await store.save(state.cursor.step, files), bytes };
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

/**
 * Refuses to resume from a checkpoint whose data set differs from `current` (files added,
 * removed or changed, or another record count) unless `allowDataChange`; the message says what
 * changed. Allowed, the checkpoint's data position is kept when the record count is the same,
 * and restarts at the next epoch when it is not (cursors of the old count mean nothing for the
 * new one). `current` null: this process sees no training data (a coordinator without
 * data.train), so nothing can be compared. Returns the meta to resume from. @throws CheckpointError
 */
export function checkCheckpointData(loaded: LoadedCheckpoint, meta: CheckpointMeta, current: DataFingerprint | null, allowDataChange: boolean, log: Logger): CheckpointMeta {
  if (current === null) {
    log.warn('no training data configured here (data.train is empty); the checkpoint\'s data fingerprint is not checked', { checkpoint: loaded.location });
    return meta;
  }
  const change = meta.data
    ? describeDataChange(meta.data, current)
    : meta.shards.numSamples !== current.count ? `records ${meta.shards.numSamples} → ${current.count}` : null;
  if (!meta.data) log.warn('checkpoint has no data fingerprint (written by an older version); only the record count is compared', { checkpoint: loaded.location });
  if (change === null) return meta;
  if (!allowDataChange) {
    throw new CheckpointError(
      'CHECKPOINT_MISMATCH',
      `the training data changed since ${loaded.location} was written (${change}). Its data position (epoch order, shard cursors) belongs to the old data, so resuming would use some samples twice and others never. Resume with the original data, or pass --allow-data-change to continue on the new data anyway.`,
    );
  }
  if (meta.shards.numSamples === current.count) {
    log.warn('training data changed; continuing with the checkpoint\'s data position (--allow-data-change)', { checkpoint: loaded.location, change });
    return { ...meta, data: current };
  }
  const old = meta.shards;
  const shards = VirtualShards.fromState({ ...new VirtualShards({ numSamples: current.count, virtualShards: old.virtualShards, seed: old.seed }).toState(), epoch: old.epoch + 1 }).toState();
  log.warn('training data changed its record count; the data position restarts at the next epoch (--allow-data-change)', { checkpoint: loaded.location, change, epoch: shards.epoch });
  return { ...meta, data: current, shards };
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
