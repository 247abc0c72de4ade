/**
 * @module train/flat
 * One flat float32 vector for all trainable tensors, in the store's canonical (sorted-name)
 * order: the unit of the gradient all-reduce, the optimizer and the replica checksum.
 */
import { tf } from '../backend/tf.js';
import type { ParameterStore } from '../model/parameters.js';

export interface FlatLayout {
  names: string[];
  offsets: number[];
  sizes: number[];
  shapes: number[][];
  total: number;
}

export function flatLayout(store: ParameterStore): FlatLayout {
  const names = store.trainableNames();
  const offsets: number[] = [];
  const sizes: number[] = [];
  const shapes: number[][] = [];
  let total = 0;
  for (const name of names) {
    const v = store.variable(name);
    offsets.push(total);
    sizes.push(v.size);
    shapes.push([...v.shape]);
    total += v.size;
  }
  return { names, offsets, sizes, shapes, total };
}

/** Reads every trainable variable into one vector. */
export function readFlat(store: ParameterStore, layout: FlatLayout): Float32Array {
  const out = new Float32Array(layout.total);
  layout.names.forEach((name, i) => out.set(store.variable(name).dataSync() as Float32Array, layout.offsets[i]));
  return out;
}

/** Writes one vector back into the trainable variables. */
export function writeFlat(store: ParameterStore, layout: FlatLayout, flat: Float32Array): void {
  layout.names.forEach((name, i) => {
    const v = store.variable(name);
    tf.tidy(() => v.assign(tf.tensor(flat.subarray(layout.offsets[i]!, layout.offsets[i]! + layout.sizes[i]!), v.shape, 'float32')));
  });
}

/** Gradients keyed by canonical name → one vector (a missing gradient is zero: that tensor was unused). */
export function flattenGradients(layout: FlatLayout, grads: Map<string, Float32Array>, extra = 0): Float32Array {
  const out = new Float32Array(layout.total + extra);
  layout.names.forEach((name, i) => {
    const g = grads.get(name);
    if (g) out.set(g, layout.offsets[i]);
  });
  return out;
}

/** FNV-1a over the bytes of a float vector: cheap replica-consistency fingerprint. */
export function checksum(flat: Float32Array): number {
  const bytes = new Uint8Array(flat.buffer, flat.byteOffset, flat.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}
