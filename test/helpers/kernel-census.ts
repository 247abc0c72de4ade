/**
 * Test helper: which tfjs kernels the product's code paths run. Every kernel registered for a
 * backend is wrapped with a counter (the wrapper calls the original kernel, so results are
 * unchanged); `census` runs a function and returns the kernel names it dispatched, split by
 * forward and backward (`backward` scopes of tfjs's gradient tape).
 *
 * The paths (`productPaths`): one tiny train step (both passes, contrastive + LM loss, AdamW),
 * the embedding forward of eval (`embedEncoded`), two steps of
 * instruction tuning (Eq. 6, gradient through the model to soft-prompt vectors), a LoRA layer
 * with dropout (the step does not pass a dropout seed today), and a trainable embedding lookup (the gradient of `gather` is UnsortedSegmentSum).
 */
import { join } from 'node:path';
import { tf } from '../../src/backend/tf.js';
import { loadConfig } from '../../src/config/load.js';
import type { BackendName } from '../../src/config/schema.js';
import { embedEncoded } from '../../src/eval/embed.js';
import { tuneInstruction } from '../../src/eval/instruction-tuning.js';
import { silentLogger } from '../../src/log.js';
import { linear } from '../../src/model/layers.js';
import { LocalComm } from '../../src/train/comm.js';
import { TrainingSession } from '../../src/train/session.js';
import { synthData } from './synth-data.js';

export interface Census {
  forward: Map<string, number>;
  backward: Map<string, number>;
}

let counting: Census | null = null;
const wrapped = new Set<string>();

/** Wraps every kernel registered for `backendName` (once per process). */
export function wrapKernels(backendName: string): void {
  if (wrapped.has(backendName)) return;
  wrapped.add(backendName);
  for (const k of tf.getKernelsForBackend(backendName)) {
    const original = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, backendName);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        if (counting) {
          const inBackward = tf.engine().state.scopeStack.some((s) => s.name === 'backward');
          const m = inBackward ? counting.backward : counting.forward;
          m.set(k.kernelName, (m.get(k.kernelName) ?? 0) + 1);
        }
        return original(args);
      },
    });
  }
}

/** Runs `fn` and returns the kernels it dispatched (wrapKernels must have run for the backend). */
export async function census(fn: () => Promise<void> | void): Promise<Census> {
  const c: Census = { forward: new Map(), backward: new Map() };
  counting = c;
  try {
    await fn();
  } finally {
    counting = null;
  }
  return c;
}

/** Distinct kernel names of a census. */
export function kernelNames(c: Census): string[] {
  return [...new Set([...c.forward.keys(), ...c.backward.keys()])].sort();
}

/** A tiny-preset session on synthetic data (the caller closes it and removes the data). */
export async function tinySession(backend: BackendName, overrides: Record<string, unknown> = {}): Promise<{ session: TrainingSession; remove(): Promise<void> }> {
  const data = synthData(64, 1, 4);
  const config = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.train': data.train, backend, ...overrides }, env: {} });
  const session = await TrainingSession.create(config, { runDir: join(data.dir, 'run'), log: silentLogger });
  return {
    session,
    remove: async () => {
      await session.close();
      data.remove();
    },
  };
}

/** Every product path the cuda backend must cover, run on the current backend. */
export async function productPaths(backend: BackendName): Promise<void> {
  const { session, remove } = await tinySession(backend);
  try {
    const samples = await session.encode(session.shards.next(session.config.train.global_batch, 1).perRank[0]!);
    await session.stepper.run([samples], new LocalComm());
    const model = session.built.model;
    embedEncoded(model, samples.slice(0, 4));
    const labels = Int32Array.from(samples.slice(0, 4), (_, i) => i % 2);
    const init = { vectors: new Float32Array(2 * model.hidden).fill(0.01), k: 2, d: model.hidden };
    tuneInstruction(model, samples.slice(0, 4).map((s) => ({ ...s, instruction: null })), labels, init, { steps: 2, lr: 0.003, tau: 0.05 });
  } finally {
    await remove();
  }
  // A LoRA layer with dropout on its input (model/layers.ts `linear` with a dropout seed).
  const a_IR = tf.variable(tf.randomNormal([6, 2], 0, 1, 'float32', 1));
  const b_RO = tf.variable(tf.randomNormal([2, 5], 0, 1, 'float32', 2));
  const x = tf.randomNormal([3, 6], 0, 1, 'float32', 4);
  const kernel_IO = tf.randomNormal([6, 5], 0, 1, 'float32', 5);
  const lora = tf.variableGrads(() => tf.sum(linear(x, { kernel_IO, lora: { a_IR, b_RO, scale: 2, dropout: 0.25 } }, { dropoutSeed: 9 })) as tf.Scalar, [a_IR, b_RO]);
  tf.dispose([lora.value, ...Object.values(lora.grads), a_IR, b_RO, x, kernel_IO]);
  // A trainable table read by gather: its gradient is UnsortedSegmentSum.
  const table = tf.variable(tf.randomNormal([12, 4], 0, 1, 'float32', 3));
  const ids = tf.tensor2d([[1, 2, 3], [3, 11, 0]], [2, 3], 'int32');
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(tf.gather(table, ids))), [table]);
  tf.dispose([value, ...Object.values(grads), table, ids]);
}
