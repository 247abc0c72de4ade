/**
 * @module train/session
 * Everything one training process holds: backend, model, tokenizers, data set, the data
 * position, the stepper and the run folder's checkpoint store. Built the same way by the
 * single-process trainer and by each distributed worker, so the two run the identical step;
 * `state()` / `load()` are the one way in and out of its `TrainState`.
 */
import { selectBackend, type ActiveBackend } from '../backend/select.js';
import type { FsCheckpointStore } from '../checkpoint/fs-store.js';
import type { Frozen } from '../config/load.js';
import type { WorkerConfig } from '../config/worker-config.js';
import { encodeSample, type EncodeContext } from '../data/collate.js';
import { Dataset } from '../data/dataset.js';
import { VirtualShards } from '../data/shards.js';
import { topicGroups } from '../data/topics.js';
import { findTabularSchema, readTabularSchema } from '../data/tabular-file.js';
import type { EncodedSample } from '../data/types.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BuiltModel } from '../model/build.js';
import { encodeContextOf } from '../model/encode-context.js';
import { openCheckpointStore } from './checkpoint.js';
import { runPaths } from './run-dir.js';
import { backendOptionsOf, buildRunModel } from './run-model.js';
import { microBatchSize } from './micro-batches.js';
import { Stepper, type StepConfig } from './step.js';
import type { TrainState } from './train-state.js';

export function stepConfigOf(config: Frozen<Pick<WorkerConfig, 'train'>>): StepConfig {
  const t = config.train;
  return {
    exactSum: t.exact_sum,
    alphaLm: t.alpha_lm,
    alphaCl: t.alpha_cl,
    contrastive: {
      tau: t.tau, margin: t.margin, userAnswer: t.neg_user_answer, userUser: t.neg_user_user, answerAnswer: t.neg_answer_answer,
      mask: t.mask, maskWarmupSteps: t.mask_warmup_steps, negatives: t.negatives, center: t.center, dropDuplicateAnswers: t.drop_duplicate_answers,
    },
    schedule: { peak: t.lr, warmupSteps: t.warmup_steps, totalSteps: t.steps, minRatio: t.min_lr_ratio },
    gradClip: t.grad_clip,
    adamw: { beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weight_decay },
  };
}

export interface SessionOptions {
  /** The run folder (rank 0 and the single process write checkpoints to RUN/checkpoints). */
  runDir: string;
  log: Logger;
}

export class TrainingSession {
  /** The data position (advanced by the training loop, replaced by `load`). */
  shards: VirtualShards;
  /** Topic group of every sample with data.batching = by_instruction (undefined: mixed batches). */
  private readonly groupOf: Int32Array | undefined;
  private readonly initial: TrainState;

  private constructor(
    readonly config: Frozen<WorkerConfig>,
    readonly backend: ActiveBackend,
    readonly built: BuiltModel,
    readonly dataset: Dataset,
    readonly encodeContext: EncodeContext,
    readonly stepper: Stepper,
    readonly checkpoints: FsCheckpointStore,
  ) {
    this.groupOf = config.data.batching === 'by_instruction' ? topicGroups(dataset.topicKeys()).groupOf : undefined;
    this.shards = new VirtualShards({ numSamples: dataset.size, virtualShards: config.data.virtual_shards, seed: config.seed, groupOf: this.groupOf });
    this.initial = this.state();
  }

  /** `config`: the run config as a worker knows it (a full config is one too). */
  static async create(config: Frozen<WorkerConfig>, opts: SessionOptions): Promise<TrainingSession> {
    const { log } = opts;
    const backend = await selectBackend(config.backend, log, backendOptionsOf(config));
    if (!config.data.train) throw new ConfigError('data.train is empty: point it at a UserQA folder (e.g. the train/ folder written by instructue synth)');
    const dataset = await Dataset.open(config.data.train, { onInvalid: config.data.on_invalid, log, cacheDir: config.data.cache_dir });
    const tabularSchema = readTabularSchema(findTabularSchema(config.data.train, config.data.tabular_schema));
    const built = await buildRunModel(config, tabularSchema, log);
    const encodeContext = encodeContextOf(config, built, tabularSchema);
    const stepper = new Stepper(built.model, stepConfigOf(config));
    const checkpoints = openCheckpointStore(runPaths(opts.runDir).checkpoints, config.train.keep_last);
    const session = new TrainingSession(config, backend, built, dataset, encodeContext, stepper, checkpoints);
    log.info('training session ready', { backend, samples: dataset.size, skipped: dataset.skipped, trainable: stepper.layout.total });
    return session;
  }

  /** A copy of the current training state. */
  state(): TrainState {
    const { step, params, m, v } = this.stepper.state();
    return { cursor: { step, shards: this.shards.toState() }, params, m, v };
  }

  /** The seeded state before the first step (fresh weights, zero moments, epoch 0's position). */
  initialState(): TrainState {
    const { cursor, params, m, v } = this.initial;
    return { cursor: { step: cursor.step, shards: { ...cursor.shards, cursors: cursor.shards.cursors.slice() } }, params: params.slice(), m: m.slice(), v: v.slice() };
  }

  /** Continues from `state` (copied). */
  load(state: TrainState): void {
    this.stepper.load({ step: state.cursor.step, params: state.params, m: state.m, v: state.v });
    this.shards = VirtualShards.fromState(state.cursor.shards, this.groupOf);
  }

  /** Samples per micro-batch of this run. */
  get microBatch(): number {
    return microBatchSize(this.config.train.micro_batch, this.config.train.global_batch, this.config.data.virtual_shards);
  }

  /** Reads and encodes the samples at global indices `indices`. */
  async encode(indices: number[]): Promise<EncodedSample[]> {
    const samples = await this.dataset.get(indices);
    return samples.map((s) => encodeSample(s, this.encodeContext));
  }

  async close(): Promise<void> {
    await this.dataset.close();
    this.built.model.dispose();
  }
}
