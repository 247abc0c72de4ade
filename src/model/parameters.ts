/**
 * @module model/parameters
 * Owns every tensor of a model: frozen base weights (plain tensors) and trainable variables,
 * each under a stable name (HF module paths where they exist). Trainable names, sorted, define
 * the order in which gradients are flattened for the all-reduce and saved in checkpoints, so
 * every worker and every checkpoint agree on it. tfjs variable names are global per process,
 * so each store prefixes them with a unique id (tests build several models in one process).
 */
import { tf, type Tensor } from '../backend/tf.js';
import type { HostTensor } from '../weights/safetensors.js';

let nextStoreId = 0;

export class ParameterStore {
  private readonly prefix = `p${nextStoreId++}`;
  private readonly frozenTensors = new Map<string, Tensor>();
  private readonly variables = new Map<string, tf.Variable>();

  /** Registers a frozen tensor (kept out of tidy scopes). */
  frozen(name: string, tensor: Tensor): Tensor {
    if (this.frozenTensors.has(name) || this.variables.has(name)) throw new Error(`parameter "${name}" registered twice`);
    this.frozenTensors.set(name, tf.keep(tensor));
    return tensor;
  }

  /** Registers a trainable variable initialised from `initial` (which is disposed). */
  trainable(name: string, initial: Tensor): tf.Variable {
    if (this.frozenTensors.has(name) || this.variables.has(name)) throw new Error(`parameter "${name}" registered twice`);
    const variable = tf.variable(initial, true, `${this.prefix}/${name}`, 'float32');
    initial.dispose();
    this.variables.set(name, variable);
    return variable;
  }

  /** Trainable names in their canonical (sorted) order. */
  trainableNames(): string[] {
    return [...this.variables.keys()].sort();
  }

  variable(name: string): tf.Variable {
    const v = this.variables.get(name);
    if (!v) throw new Error(`no trainable parameter "${name}"`);
    return v;
  }

  /** Variables in canonical order. */
  trainableVariables(): tf.Variable[] {
    return this.trainableNames().map((n) => this.variable(n));
  }

  /** Canonical name of a tfjs variable name (as keyed in `tf.variableGrads` results). */
  nameOf(variableName: string): string {
    return variableName.slice(this.prefix.length + 1);
  }

  trainableCount(): number {
    let n = 0;
    for (const v of this.variables.values()) n += v.size;
    return n;
  }

  frozenCount(): number {
    let n = 0;
    for (const t of this.frozenTensors.values()) n += t.size;
    return n;
  }

  /** Copies of the trainable values (host memory), by canonical name. */
  snapshot(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    for (const name of this.trainableNames()) {
      const v = this.variable(name);
      out.set(name, { dtype: 'float32', shape: [...v.shape], data: v.dataSync() as Float32Array });
    }
    return out;
  }

  /** Assigns trainable values by name; every trainable must be present with its exact shape. */
  restore(values: Map<string, HostTensor>, source: string): void {
    for (const name of this.trainableNames()) {
      const value = values.get(name);
      const v = this.variable(name);
      if (!value) throw new Error(`${source}: missing trainable tensor "${name}"`);
      if (value.shape.join(',') !== v.shape.join(',')) {
        throw new Error(`${source}: tensor "${name}" has shape [${value.shape}] but the model needs [${v.shape}]`);
      }
      tf.tidy(() => v.assign(tf.tensor(value.data as Float32Array, v.shape, 'float32')));
    }
  }

  dispose(): void {
    for (const t of this.frozenTensors.values()) t.dispose();
    for (const v of this.variables.values()) v.dispose();
    this.frozenTensors.clear();
    this.variables.clear();
  }
}
