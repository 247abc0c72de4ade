/**
 * @module config/sections/train
 * Optimisation and loss knobs (paper §3.3.2, appendix A) and checkpointing.
 */
import type convict from 'convict';
import { nonNegative, positive, range } from '../formats.js';

export interface TrainConfig {
  steps: number;
  global_batch: number;
  lr: number;
  min_lr_ratio: number;
  warmup_steps: number;
  weight_decay: number;
  beta1: number;
  beta2: number;
  eps: number;
  grad_clip: number;
  micro_batch: number;
  exact_sum: boolean;
  alpha_lm: number;
  alpha_cl: number;
  tau: number;
  margin: number;
  neg_user_answer: boolean;
  neg_user_user: boolean;
  neg_answer_answer: boolean;
  checkpoint_every: number;
  keep_last: number;
  log_every: number;
}

export const trainSchema: convict.Schema<TrainConfig> = {
  steps: { doc: 'Optimizer steps to run', format: 'nat', default: 40, arg: 'steps' },
  global_batch: { doc: 'Samples per optimizer step over all workers (split evenly across workers)', format: 'nat', default: 8, arg: 'global-batch' },
  micro_batch: { doc: 'Samples per micro-batch: the global batch is cut into micro-batches independent of the world size, ranks take whole ones, and each is run through both passes on its own (memory grows with this, not with the global batch); 0 = ceil(global_batch / data.virtual_shards), one per possible rank', format: 'nat', default: 0 },
  exact_sum: { doc: 'Sum micro-batch gradients exactly (fixed point, world-size invariant to the bit: 1 or N workers and any history of faults follow the same trajectory); false = float32 sum in rank order (3x fewer all-reduce bytes, equal across world sizes only to rounding, which Adam amplifies over many steps)', format: Boolean, default: true },
  lr: { doc: 'Peak learning rate (paper: 2e-4)', format: positive, default: 2e-4 },
  min_lr_ratio: { doc: 'Cosine decay floor as a fraction of lr', format: range(0, 1), default: 0 },
  warmup_steps: { doc: 'Linear warm-up steps before cosine decay', format: 'nat', default: 0 },
  weight_decay: { doc: 'AdamW decoupled weight decay', format: nonNegative, default: 0.01 },
  beta1: { doc: 'AdamW beta1', format: range(0, 1), default: 0.9 },
  beta2: { doc: 'AdamW beta2', format: range(0, 1), default: 0.999 },
  eps: { doc: 'AdamW epsilon (PyTorch default 1e-8)', format: positive, default: 1e-8 },
  grad_clip: { doc: 'Global gradient-norm clip; 0 disables', format: nonNegative, default: 1.0 },
  alpha_lm: { doc: 'Weight of the next-token loss (Eq. 5); 0 = "without NTP" ablation', format: nonNegative, default: 1 },
  alpha_cl: { doc: 'Weight of the contrastive loss (Eq. 5); 0 = "without contrastive" ablation', format: nonNegative, default: 1 },
  tau: { doc: 'InfoNCE temperature', format: positive, default: 0.05 },
  margin: { doc: 'False-negative mask margin c_margin (Eq. 4)', format: nonNegative, default: 0.1 },
  neg_user_answer: { doc: 'Use u_i-a_j negatives', format: Boolean, default: true },
  neg_user_user: { doc: 'Use same-side u_i-u_j negatives', format: Boolean, default: true },
  neg_answer_answer: { doc: 'Use same-side a_i-a_j negatives', format: Boolean, default: true },
  checkpoint_every: { doc: 'Save a checkpoint every K steps (and always at the end); 0 = only at the end', format: 'nat', default: 10, identity: false },
  keep_last: { doc: 'Checkpoints kept on disk (older ones are deleted after a new one is published)', format: 'nat', default: 3, identity: false },
  log_every: { doc: 'Write a metrics line every N steps', format: 'nat', default: 1, identity: false },
};
