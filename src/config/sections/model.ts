/**
 * @module config/sections/model
 * Model knobs: decoder (Qwen2), per-source text encoder (BERT), LoRA, adapters, pooling and the
 * ablation switches of the paper's Table 3. `hf_dir` empty means "build at random from the dims
 * here" (the tiny preset); set it to read a Hugging Face folder (config.json + safetensors).
 */
import type convict from 'convict';
import { oneOf, stringList } from '../formats.js';

export interface DecoderConfig {
  hf_dir: string;
  tokenizer_dir: string;
  hidden: number;
  layers: number;
  heads: number;
  kv_heads: number;
  intermediate: number;
  rope_theta: number;
  rms_eps: number;
  max_positions: number;
}

export interface EncoderConfig {
  hf_dir: string;
  tokenizer_dir: string;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  max_len: number;
  layer_norm_eps: number;
}

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  targets: string[];
  use_rslora: boolean;
}

export interface ModelConfig {
  decoder: DecoderConfig;
  encoder: EncoderConfig;
  lora: LoraConfig;
  tabular_dim: number;
  pooling: 'user_token' | 'mean';
  input_mode: 'soft_tokens' | 'text_only';
  use_tabular: boolean;
  use_sequences: boolean;
  preamble: 'full' | 'none';
  init_std: number;
  residual_init: 'uniform' | 'depth_scaled';
  finetune: 'lora' | 'full';
  train_encoder: boolean;
  lm_start: 'user' | 'answer';
}

export const modelSchema: convict.Schema<ModelConfig> = {
  decoder: {
    hf_dir: { doc: 'Hugging Face Qwen2 folder (config.json + *.safetensors); empty = random init from the dims below', format: String, default: '', env: 'INSTRUCTUE_DECODER_DIR' },
    tokenizer_dir: { doc: 'Folder with the decoder tokenizer.json; empty = hf_dir, or the built-in tiny vocabulary when hf_dir is empty', format: String, default: '' },
    hidden: { doc: 'Decoder width (ignored when hf_dir is set)', format: 'nat', default: 64 },
    layers: { doc: 'Decoder layers (ignored when hf_dir is set)', format: 'nat', default: 2 },
    heads: { doc: 'Attention heads (ignored when hf_dir is set)', format: 'nat', default: 4 },
    kv_heads: { doc: 'Key/value heads for GQA; must divide heads (ignored when hf_dir is set)', format: 'nat', default: 2 },
    intermediate: { doc: 'SwiGLU MLP width (ignored when hf_dir is set)', format: 'nat', default: 176 },
    rope_theta: { doc: 'RoPE base (ignored when hf_dir is set)', format: Number, default: 1000000 },
    rms_eps: { doc: 'RMSNorm epsilon (ignored when hf_dir is set)', format: Number, default: 1e-6 },
    max_positions: { doc: 'Longest prompt + answer sequence the decoder accepts', format: 'nat', default: 512 },
  },
  encoder: {
    hf_dir: { doc: 'Hugging Face BERT folder (e.g. gte-base); empty = random init from the dims below', format: String, default: '', env: 'INSTRUCTUE_ENCODER_DIR' },
    tokenizer_dir: { doc: 'Folder with the encoder tokenizer.json; empty = hf_dir, or the built-in tiny vocabulary', format: String, default: '' },
    hidden: { doc: 'Encoder width (ignored when hf_dir is set)', format: 'nat', default: 32 },
    layers: { doc: 'Encoder layers (ignored when hf_dir is set)', format: 'nat', default: 1 },
    heads: { doc: 'Encoder heads (ignored when hf_dir is set)', format: 'nat', default: 2 },
    intermediate: { doc: 'Encoder MLP width (ignored when hf_dir is set)', format: 'nat', default: 64 },
    max_len: { doc: 'Tokens per rendered record fed to the encoder, [CLS] and [SEP] included', format: 'nat', default: 32 },
    layer_norm_eps: { doc: 'LayerNorm epsilon (ignored when hf_dir is set)', format: Number, default: 1e-12 },
  },
  lora: {
    r: { doc: 'LoRA rank', format: 'nat', default: 8 },
    alpha: { doc: 'LoRA alpha; the update is scaled by alpha/r (alpha/sqrt(r) with use_rslora)', format: Number, default: 16 },
    dropout: { doc: 'LoRA dropout on the adapter input; only 0 is accepted (the two-pass step cannot replay a dropout mask yet, and a value would otherwise be silently ignored)', format: Number, default: 0 },
    targets: { doc: 'Decoder linear layers that get LoRA', format: stringList(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']), default: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    use_rslora: { doc: 'Scale by alpha/sqrt(r) instead of alpha/r (PEFT use_rslora)', format: Boolean, default: false },
  },
  tabular_dim: { doc: 'D: width of each tabular feature embedding fed to the tabular adapter', format: 'nat', default: 16 },
  pooling: { doc: 'user_token = hidden state at <USER> (paper); mean = masked mean over the prompt (ablation)', format: oneOf(['user_token', 'mean']), default: 'user_token' },
  input_mode: { doc: 'soft_tokens = encoders + adapters (paper); text_only = every source rendered as plain tokens (ablation)', format: oneOf(['soft_tokens', 'text_only']), default: 'soft_tokens' },
  use_tabular: { doc: 'Include the <tabular> block (ablation: false)', format: Boolean, default: true },
  use_sequences: { doc: 'Include the four sequential sources (ablation: false)', format: Boolean, default: true },
  preamble: { doc: 'full = the Fig. 3 sentence before the sources; none = drop it (saves tokens on tiny runs)', format: oneOf(['full', 'none']), default: 'full' },
  init_std: { doc: 'Std of random init for weights built from dims (HF initializer_range)', format: Number, default: 0.02 },
  residual_init: { doc: 'Random init of the decoder projections that write into the residual stream (o_proj, down_proj): uniform = init_std like every weight (HF); depth_scaled = init_std / sqrt(2 * layers) (GPT-2), so the stream is not overwritten by random branches at init. Ignored when hf_dir is set', format: oneOf(['uniform', 'depth_scaled']), default: 'uniform' },
  finetune: { doc: 'What of the decoder trains: lora = LoRA on lora.targets, base weights frozen (paper); full = every decoder weight (projections, biases, norms, the tied token embedding), no LoRA: for random-init models, which have nothing to preserve', format: oneOf(['lora', 'full']), default: 'lora' },
  train_encoder: { doc: 'Train the record encoder too (every weight): it then runs inside the gradient pass of each step instead of once outside it; false = frozen encoder (paper)', format: Boolean, default: false },
  lm_start: { doc: 'Where the next-token loss starts: user = the <USER> position predicts answer[0] (paper, teacher forcing from the embedding position); answer = the first target is answer[1], so the embedding position carries no next-token target (with template answers answer[0] is often one constant word)', format: oneOf(['user', 'answer']), default: 'user' },
};
