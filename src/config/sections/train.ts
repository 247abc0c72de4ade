/**
 * @module config/sections/train
 * Optimisation and loss knobs (paper §3.3.2, appendix A) and checkpointing.
 */
import type convict from 'convict';
import { nonNegative, oneOf, positive, range } from '../formats.js';

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
  mask: 'eq4' | 'relative' | 'off';
  mask_warmup_steps: number;
  negatives: 'all' | 'same_instruction';
  center: boolean;
  drop_duplicate_answers: boolean;
  neg_user_answer: boolean;
  neg_user_user: boolean;
  neg_answer_answer: boolean;
  checkpoint_every: number;
  keep_last: number;
  log_every: number;
  memory_check: boolean;
  memory_limit_mb: number;
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
  margin: { doc: 'False-negative mask margin c_margin (Eq. 4): in cosine units with mask = eq4, in standard deviations of the batch\'s scores with mask = relative', format: nonNegative, default: 0.1 },
  mask: { doc: 'False-negative mask (Eq. 4): eq4 = drop a negative whose cosine exceeds the positive\'s by more than margin (paper); relative = the same test on scores standardised per block (u-a, u-u, a-a) by the batch\'s own off-diagonal mean and std, so a random backbone, whose same-side cosines all exceed its user-answer ones, keeps its negatives; off = keep every negative', format: oneOf(['eq4', 'relative', 'off']), default: 'eq4' },
  mask_warmup_steps: { doc: 'Steps at the start of training that use no false-negative mask (the mask of a random backbone says nothing about false negatives); 0 = from the first step', format: 'nat', default: 0 },
  negatives: { doc: 'all = every in-batch negative (paper); same_instruction = only negatives that share the anchor\'s instruction (or its absence): with mixed batches the instruction alone names the answer\'s template, a shortcut that needs nothing of the user', format: oneOf(['all', 'same_instruction']), default: 'all' },
  center: { doc: 'Centre the contrastive scores: subtract the global batch\'s mean user and mean answer embedding before the cosines. A random-init backbone puts all embeddings near one direction, so raw cosines separate pairs only at second order and L_cl stays at ln B; centred, training starts at once. false = the paper\'s raw cosines', format: Boolean, default: false },
  drop_duplicate_answers: { doc: 'Drop every negative pair whose answers are the same text (a certain false negative: template answers repeat, most of all in by_instruction batches); false = keep them as the paper does (its Eq. 4 mask removes them only by similarity)', format: Boolean, default: false },
  neg_user_answer: { doc: 'Use u_i-a_j negatives', format: Boolean, default: true },
  neg_user_user: { doc: 'Use same-side u_i-u_j negatives', format: Boolean, default: true },
  neg_answer_answer: { doc: 'Use same-side a_i-a_j negatives', format: Boolean, default: true },
  checkpoint_every: { doc: 'Save a checkpoint every K steps (and always at the end); 0 = only at the end', format: 'nat', default: 10, identity: false },
  keep_last: { doc: 'Checkpoints kept on disk (older ones are deleted after a new one is published)', format: 'nat', default: 3, identity: false },
  log_every: { doc: 'Write a metrics line every N steps', format: 'nat', default: 1, identity: false },
  memory_check: { doc: 'Before building the model, refuse a run whose memory estimate (weights, AdamW state, activations of one micro-batch; × local workers) exceeds the limit; false skips the check', format: Boolean, default: true, identity: false },
  memory_limit_mb: { doc: 'Memory (MiB) the preflight checks against; 0 = detect: the cgroup limit (v2 memory.max, v1 memory.limit_in_bytes), else total RAM', format: 'nat', default: 0, identity: false },
};
