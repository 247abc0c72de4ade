/**
 * @module model/weight-source
 * Where base weights come from: a Hugging Face state dict (names → host tensors, PyTorch
 * layouts) or seeded random init with HF's `_init_weights` rules (linear and embedding
 * N(0, std²), biases 0, norms 1). Linear weights are turned from PyTorch's [out, in] into
 * [in, out] kernels here, once, so the forward pass never multiplies by a transpose. A reader
 * registers what it reads as frozen base weights (LoRA) or, for full fine-tuning, as trainable
 * variables under the same names.
 */
import { tf, type Tensor } from '../backend/tf.js';
import { WeightsError } from '../errors.js';
import { Rng } from '../util/rng.js';
import type { Linear, LoraPair } from './layers.js';
import type { ParameterStore } from './parameters.js';
import type { HostTensor } from '../weights/safetensors.js';

export type WeightSource =
  | { kind: 'hf'; tensors: Map<string, HostTensor>; file: string }
  | { kind: 'random'; seed: number | string; std: number; /** Std of the projections into the residual stream (default std). */ residualStd?: number };

/** LoRA settings for one linear layer (PEFT's `r`, `lora_alpha`, `use_rslora`, `lora_dropout`). */
export interface LoraSpec {
  r: number;
  alpha: number;
  useRslora: boolean;
  dropout: number;
  seed: number | string;
}

export class WeightReader {
  /** `trainable`: register every base weight as a trainable variable (full fine-tuning). */
  constructor(private readonly source: WeightSource, private readonly store: ParameterStore, readonly trainable = false) {}

  /** Random-init std of the projections that write into the residual stream (undefined: the source's std, or HF weights). */
  get residualStd(): number | undefined {
    return this.source.kind === 'random' ? this.source.residualStd : undefined;
  }

  private register(name: string, value: Tensor): Tensor {
    return this.trainable ? this.store.trainable(name, value) : this.store.frozen(name, value);
  }

  private host(name: string, shape: number[]): HostTensor {
    if (this.source.kind !== 'hf') throw new Error('host() needs an HF source');
    const t = this.source.tensors.get(name);
    if (!t) throw new WeightsError(`${this.source.file}: missing tensor "${name}" (shape [${shape}] expected)`);
    if (t.shape.join(',') !== shape.join(',')) {
      throw new WeightsError(`${this.source.file}: tensor "${name}" has shape [${t.shape}] but the config implies [${shape}]`);
    }
    if (t.dtype !== 'float32') throw new WeightsError(`${this.source.file}: tensor "${name}" is ${t.dtype}, expected a float type`);
    return t;
  }

  /** A base tensor in its stored layout: from the state dict, or `fill` for random init. */
  tensor(name: string, shape: number[], fill: 'normal' | 'zeros' | 'ones'): Tensor {
    let value: Tensor;
    if (this.source.kind === 'hf') {
      value = tf.tensor(this.host(name, shape).data as Float32Array, shape, 'float32');
    } else if (fill === 'normal') {
      const size = shape.reduce((a, b) => a * b, 1);
      value = tf.tensor(new Rng(this.source.seed, name).normalArray(size, this.source.std), shape, 'float32');
    } else {
      value = fill === 'ones' ? tf.ones(shape) : tf.zeros(shape);
    }
    return this.register(name, value);
  }

  /** A base linear layer `prefix.weight` [out, in] (+ `prefix.bias`), stored as an [in, out] kernel. */
  linear(prefix: string, inputs: number, outputs: number, bias: boolean, lora?: LoraSpec, initStd?: number): Linear {
    const weight_OI = this.tensorUnregistered(`${prefix}.weight`, [outputs, inputs], initStd);
    const kernel_IO = this.register(`${prefix}.weight`, tf.tidy(() => tf.transpose(weight_OI)));
    weight_OI.dispose();
    const layer: Linear = { kernel_IO };
    if (bias) layer.bias_O = this.tensor(`${prefix}.bias`, [outputs], 'zeros');
    if (lora) layer.lora = this.lora(prefix, inputs, outputs, lora);
    return layer;
  }

  /** `initStd` overrides the source's std for random init (depth-scaled residual projections). */
  private tensorUnregistered(name: string, shape: number[], initStd?: number): Tensor {
    if (this.source.kind === 'hf') return tf.tensor(this.host(name, shape).data as Float32Array, shape, 'float32');
    const size = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(new Rng(this.source.seed, name).normalArray(size, initStd ?? this.source.std), shape, 'float32');
  }

  /** PEFT init: A ~ U(±1/√in) (kaiming_uniform with a=√5), B = 0; kernels [in, r] and [r, out]. */
  private lora(prefix: string, inputs: number, outputs: number, spec: LoraSpec): LoraPair {
    const bound = 1 / Math.sqrt(inputs);
    const a = tf.tensor2d(new Rng(spec.seed, prefix, 'lora_A').uniformArray(inputs * spec.r, bound), [inputs, spec.r]);
    return {
      a_IR: this.store.trainable(`${prefix}.lora_A.weight`, a),
      b_RO: this.store.trainable(`${prefix}.lora_B.weight`, tf.zeros([spec.r, outputs])),
      scale: spec.useRslora ? spec.alpha / Math.sqrt(spec.r) : spec.alpha / spec.r,
      dropout: spec.dropout,
    };
  }
}
