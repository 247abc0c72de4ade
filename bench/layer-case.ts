/**
 * The layer cases of bench/model.ts (and bench/profile.ts): one Qwen2 decoder layer with frozen
 * random base weights and LoRA r=8 on every projection, on a fixed random input. "Train" is
 * forward + backward of mean(h²) with respect to the LoRA weights, what the PyTorch peer
 * (bench/peer/decoder_layer.py) times too.
 */
import { tf } from '../src/backend/tf.js';
import { buildQwen2, LORA_TARGETS } from '../src/model/build-backbones.js';
import { ParameterStore } from '../src/model/parameters.js';
import { WeightReader } from '../src/model/weight-source.js';
import { Rng } from '../src/util/rng.js';
import { median, type Timing } from './timing.js';

export interface LayerCase {
  name: string;
  hidden: number;
  heads: number;
  kv_heads: number;
  mlp: number;
  batch: number;
  seq: number;
}

export function layerCases(scale: number): Record<string, LayerCase> {
  return {
    'layer-small': { name: 'layer-small', hidden: 128, heads: 4, kv_heads: 4, mlp: 512, batch: 8, seq: 128 },
    'layer-0.5b': { name: 'layer-0.5b', hidden: 896, heads: 14, kv_heads: 2, mlp: 4864, batch: scale, seq: 128 },
  };
}

/** A built layer with its input; `forward()` and `train()` run one pass (async reads: webgpu cannot read synchronously in Node). */
export interface LayerRun {
  forward(): Promise<void>;
  train(): Promise<void>;
  dispose(): void;
}

export function buildLayer(c: LayerCase): LayerRun {
  const store = new ParameterStore();
  const decoder = buildQwen2(
    { hidden: c.hidden, layers: 1, heads: c.heads, kvHeads: c.kv_heads, headSize: c.hidden / c.heads, intermediate: c.mlp, vocab: 64, ropeTheta: 1e6, rmsEps: 1e-6, maxPositions: c.seq },
    new WeightReader({ kind: 'random', seed: 'bench', std: 0.02 }, store),
    LORA_TARGETS,
    { r: 8, alpha: 16, useRslora: false, dropout: 0, seed: 'bench' },
  );
  const x = tf.tensor3d(new Rng('bench-x').normalArray(c.batch * c.seq * c.hidden, 1), [c.batch, c.seq, c.hidden]);
  const mask = new Int32Array(c.batch * c.seq).fill(1);
  return {
    forward: async () => {
      const y = tf.tidy(() => decoder.forward(x, mask));
      await y.data();
      y.dispose();
    },
    train: async () => {
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(decoder.forward(x, mask))) as tf.Scalar, store.trainableVariables());
      await Promise.all(Object.values(grads).map((g) => g.data()));
      tf.dispose([value, ...Object.values(grads)]);
    },
    dispose: () => {
      tf.dispose(x);
      decoder.disposeCaches();
      store.dispose();
    },
  };
}

export async function runLayer(c: LayerCase, backend: string, reps: number): Promise<Timing> {
  const layer = buildLayer(c);
  try {
    const forwardMs = await median(layer.forward, reps);
    const trainMs = await median(layer.train, reps);
    return { backend, name: c.name, forwardTokens: c.batch * c.seq, trainTokens: c.batch * c.seq, forwardMs, trainMs };
  } finally {
    layer.dispose();
  }
}
