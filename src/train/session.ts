/**
 * @module train/session
 * Everything one training process holds: backend, model, tokenizers, data set, virtual shards
 * and the stepper. Built the same way by the single-process trainer and by each distributed
 * worker (which supplies its own StepComm), so the two run the identical step.
 */
import type { Frozen } from '../config/load.js';
import { configHash } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import { selectBackend, type ActiveBackend } from '../backend/select.js';
import { encodeSample, type EncodeContext } from '../data/collate.js';
import { encodeContextOf } from '../data/encode-context.js';
import { Dataset } from '../data/dataset.js';
import { VirtualShards } from '../data/shards.js';
import { findTabularSchema, readTabularSchema } from '../data/tabular-file.js';
import type { EncodedSample } from '../data/types.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { buildModel, type BuiltModel } from '../model/build.js';
import type { StepComm } from './comm.js';
import { Stepper, type StepConfig } from './step.js';

/** The parts of a config that change the math of a run (hashed into checkpoints). */
export function runIdentity(config: Frozen<InstructueConfig>): unknown {
  const { steps, global_batch, lr, min_lr_ratio, warmup_steps, weight_decay, beta1, beta2, eps, grad_clip, alpha_lm, alpha_cl, tau, margin, neg_user_answer, neg_user_user, neg_answer_answer } = config.train;
  const { eval: _evalData, cache_dir: _cache, ...data } = config.data;
  return {
    seed: config.seed,
    model: config.model,
    data,
    train: { steps, global_batch, lr, min_lr_ratio, warmup_steps, weight_decay, beta1, beta2, eps, grad_clip, alpha_lm, alpha_cl, tau, margin, neg_user_answer, neg_user_user, neg_answer_answer },
  };
}

export function runIdentityHash(config: Frozen<InstructueConfig>): string {
  return configHash(runIdentity(config));
}

export function stepConfigOf(config: Frozen<InstructueConfig>): StepConfig {
  const t = config.train;
  return {
    alphaLm: t.alpha_lm,
    alphaCl: t.alpha_cl,
    contrastive: { tau: t.tau, margin: t.margin, userAnswer: t.neg_user_answer, userUser: t.neg_user_user, answerAnswer: t.neg_answer_answer },
    schedule: { peak: t.lr, warmupSteps: t.warmup_steps, totalSteps: t.steps, minRatio: t.min_lr_ratio },
    gradClip: t.grad_clip,
    adamw: { beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weight_decay },
  };
}

export class TrainingSession {
  private constructor(
    readonly config: Frozen<InstructueConfig>,
    readonly backend: ActiveBackend,
    readonly built: BuiltModel,
    readonly dataset: Dataset,
    readonly encodeContext: EncodeContext,
    readonly stepper: Stepper,
    public shards: VirtualShards,
  ) {}

  static async create(config: Frozen<InstructueConfig>, comm: StepComm, log: Logger): Promise<TrainingSession> {
    const backend = await selectBackend(config.backend, log, { cuda: config.cuda });
    if (!config.data.train) throw new ConfigError('data.train is empty: point it at a UserQA folder (e.g. the train/ folder written by instructue synth)');
    const dataset = await Dataset.open(config.data.train, { onInvalid: config.data.on_invalid, log, cacheDir: config.data.cache_dir });
    const tabularSchema = readTabularSchema(findTabularSchema(config.data.train, config.data.tabular_schema));
    const built = await buildModel(config.model, { seed: config.seed, tabularSchema, log });
    const encodeContext = encodeContextOf(config, built, tabularSchema);
    const stepper = new Stepper(built.model, stepConfigOf(config), comm);
    const shards = new VirtualShards({ numSamples: dataset.size, virtualShards: config.data.virtual_shards, seed: config.seed });
    log.info('training session ready', { backend, samples: dataset.size, skipped: dataset.skipped, trainable: stepper.layout.total });
    return new TrainingSession(config, backend, built, dataset, encodeContext, stepper, shards);
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
