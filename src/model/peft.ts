/**
 * @module model/peft
 * Export and import of the decoder's LoRA weights as a PEFT adapter folder, loadable in Python
 * with `PeftModel.from_pretrained(base_model, dir)` on the same base model:
 *
 * - `adapter_config.json`: a LORA config (task CAUSAL_LM) with PEFT's field names.
 * - `adapter_model.safetensors`: the LoRA tensors under PEFT's saved key names, i.e. our names
 *   (HF module paths, `model.layers.{i}.self_attn.q_proj.lora_A.weight`) prefixed with
 *   `base_model.model.`; the adapter name ("default") is absent on disk, as PEFT saves it.
 *   `lora_A` is [r, in] and `lora_B` is [out, r] (PyTorch layout).
 * - `instructue_extras.safetensors` (only when extra tensors are given): trainables PEFT has no
 *   place for (source adapters, special-token rows, soft prompts), under our own names. PEFT
 *   ignores the file; `importPeftAdapter` returns it as `extra`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WeightsError } from '../errors.js';
import { pathExists, readJsonFile } from '../weights/hf-folder.js';
import { readSafetensors, writeSafetensors, type HostTensor } from '../weights/safetensors.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
export const EXTRAS_FILE = 'instructue_extras.safetensors';
const PEFT_PREFIX = 'base_model.model.';
const SAFETENSORS_METADATA = { format: 'pt' };

/** LoRA settings, as PEFT names them in adapter_config.json (r, lora_alpha, …). */
export interface PeftLoraSettings {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: string[];
  useRslora: boolean;
  /** `base_model_name_or_path`, e.g. "Qwen/Qwen2.5-0.5B-Instruct". */
  baseModel: string;
}

/** What `importPeftAdapter` returns. */
export interface PeftAdapter {
  config: PeftLoraSettings;
  /** LoRA tensors under our names (no `base_model.model.` prefix). */
  lora: Map<string, HostTensor>;
  /** Tensors of instructue_extras.safetensors (empty when the file is absent). */
  extra: Map<string, HostTensor>;
}

/** Writes a PEFT LoRA adapter folder (see the module comment for its files). */
export async function exportPeftAdapter(
  dir: string,
  lora: Map<string, HostTensor>,
  cfg: PeftLoraSettings & { extraTensors?: Map<string, HostTensor> },
): Promise<void> {
  validateLora(lora, cfg, 'LoRA export');
  await mkdir(dir, { recursive: true });
  const peftConfig = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: cfg.baseModel,
    r: cfg.r,
    lora_alpha: cfg.alpha,
    lora_dropout: cfg.dropout,
    target_modules: cfg.targetModules,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    use_rslora: cfg.useRslora,
    use_dora: false,
    rank_pattern: {},
    alpha_pattern: {},
    layers_to_transform: null,
    layers_pattern: null,
    revision: null,
  };
  const onDisk = new Map([...lora].map(([name, t]) => [PEFT_PREFIX + name, t]));
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), onDisk, { metadata: SAFETENSORS_METADATA });
  if (cfg.extraTensors && cfg.extraTensors.size > 0) {
    await writeSafetensors(join(dir, EXTRAS_FILE), cfg.extraTensors, { metadata: SAFETENSORS_METADATA });
  }
  // The config goes last: a folder with a config is a complete adapter.
  await writeFile(join(dir, ADAPTER_CONFIG), `${JSON.stringify(peftConfig, null, 2)}\n`);
}

/** Reads a PEFT LoRA adapter folder, checking it is one our decoder can apply. */
export async function importPeftAdapter(dir: string): Promise<PeftAdapter> {
  const configPath = join(dir, ADAPTER_CONFIG);
  const config = parsePeftConfig(await readJsonFile(configPath, 'the adapter config'), configPath);
  const weightsPath = join(dir, ADAPTER_WEIGHTS);
  const { tensors } = await readSafetensors(weightsPath);
  const lora = new Map<string, HostTensor>();
  for (const [key, t] of tensors) {
    if (!key.startsWith(PEFT_PREFIX)) throw new WeightsError(`${weightsPath}: tensor "${key}" does not start with "${PEFT_PREFIX}", so it is not a PEFT LoRA key`);
    lora.set(key.slice(PEFT_PREFIX.length), t);
  }
  validateLora(lora, config, weightsPath);
  const extrasPath = join(dir, EXTRAS_FILE);
  const extra = (await pathExists(extrasPath)) ? (await readSafetensors(extrasPath)).tensors : new Map<string, HostTensor>();
  return { config, lora, extra };
}

/** Every tensor is a `.lora_A.weight` [r, in] or `.lora_B.weight` [out, r] of a target module, in pairs. */
function validateLora(lora: Map<string, HostTensor>, cfg: PeftLoraSettings, source: string): void {
  const fail = (name: string, why: string): never => {
    throw new WeightsError(`${source}: tensor "${name}": ${why}`);
  };
  for (const [name, t] of lora) {
    const m = /^(.+)\.lora_([AB])\.weight$/.exec(name);
    if (!m) fail(name, 'is not a LoRA weight (expected a name ending in .lora_A.weight or .lora_B.weight)');
    const [, module, which] = m!;
    const leaf = module!.slice(module!.lastIndexOf('.') + 1);
    if (!cfg.targetModules.includes(leaf)) fail(name, `module ${leaf} is not in target_modules ${JSON.stringify(cfg.targetModules)}`);
    if (t.dtype !== 'float32' || t.shape.length !== 2) fail(name, `must be a 2-D float tensor, got ${t.dtype} [${t.shape}]`);
    const rankAxis = which === 'A' ? 0 : 1;
    if (t.shape[rankAxis] !== cfg.r) {
      fail(name, `shape [${t.shape}] does not fit r = ${cfg.r} (lora_A is [r, in], lora_B is [out, r])`);
    }
    const partner = `${module}.lora_${which === 'A' ? 'B' : 'A'}.weight`;
    if (!lora.has(partner)) fail(name, `has no partner "${partner}"`);
  }
}

function parsePeftConfig(json: unknown, source: string): PeftLoraSettings {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new WeightsError(`${source}: the adapter config is not a JSON object`);
  const c = json as Record<string, unknown>;
  const fail = (key: string, why: string): never => {
    throw new WeightsError(`${source}: "${key}": ${why}`);
  };
  if (c.peft_type !== 'LORA') fail('peft_type', `${JSON.stringify(c.peft_type)} is not supported; only LORA adapters can be imported`);
  const unsupported: [string, boolean][] = [
    ['use_dora', c.use_dora === true],
    ['fan_in_fan_out', c.fan_in_fan_out === true],
    ['bias', c.bias !== undefined && c.bias !== 'none'],
    ['rank_pattern', isNonEmptyObject(c.rank_pattern)],
    ['alpha_pattern', isNonEmptyObject(c.alpha_pattern)],
    ['modules_to_save', Array.isArray(c.modules_to_save) && c.modules_to_save.length > 0],
  ];
  for (const [key, bad] of unsupported) {
    if (bad) fail(key, `${JSON.stringify(c[key])} is not supported by this decoder (plain LoRA with one r and alpha only)`);
  }
  if (!Number.isSafeInteger(c.r) || (c.r as number) <= 0) fail('r', `must be a positive integer, got ${JSON.stringify(c.r)}`);
  if (typeof c.lora_alpha !== 'number') fail('lora_alpha', `must be a number, got ${JSON.stringify(c.lora_alpha)}`);
  // PEFT reads a string as a regex over module paths (or "all-linear"); we need the names.
  const targets = c.target_modules;
  if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'string')) {
    fail('target_modules', `must be a list of module names such as ["q_proj", "v_proj"], got ${JSON.stringify(targets)}`);
  }
  return {
    r: c.r as number,
    alpha: c.lora_alpha as number,
    dropout: typeof c.lora_dropout === 'number' ? c.lora_dropout : 0,
    targetModules: targets as string[],
    useRslora: c.use_rslora === true,
    baseModel: typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : '',
  };
}

function isNonEmptyObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && Object.keys(v).length > 0;
}
