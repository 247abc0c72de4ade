/**
 * @module model/lora-export
 * Converts between the model's trainable tensors and PEFT's layout. LoRA kernels live as
 * A [in, r] and B [r, out] here (plain matmuls); PEFT stores lora_A [r, in] and lora_B [out, r].
 * Every other trainable (source adapters, special-token rows, instruction vectors) goes to the
 * adapter folder's `instructue_extras.safetensors` in our own layout.
 */
import type { HostTensor } from '../weights/safetensors.js';

const LORA = /\.lora_[AB]\.weight$/;

function transpose2d(t: HostTensor): HostTensor {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = t.data[i * cols + j]!;
  return { dtype: 'float32', shape: [cols, rows], data: out };
}

/** Our trainables (by canonical name) → PEFT LoRA tensors and the extras. */
export function toPeftLayout(trainables: Map<string, HostTensor>): { lora: Map<string, HostTensor>; extra: Map<string, HostTensor> } {
  const lora = new Map<string, HostTensor>();
  const extra = new Map<string, HostTensor>();
  for (const [name, t] of trainables) {
    if (LORA.test(name)) lora.set(name, transpose2d(t));
    else extra.set(name, t);
  }
  return { lora, extra };
}

/** PEFT LoRA tensors and extras → our trainables (the inverse of `toPeftLayout`). */
export function fromPeftLayout(lora: Map<string, HostTensor>, extra: Map<string, HostTensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>(extra);
  for (const [name, t] of lora) out.set(name, transpose2d(t));
  return out;
}
