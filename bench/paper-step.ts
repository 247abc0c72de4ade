/**
 * Benchmark: full train steps of the Qwen2.5-0.5B-shaped paper preset (configs/paper-qwen2.5-0.5b.json
 * with random init, as no weights can be downloaded: decoder hidden 896, 24 layers, 14/2 heads,
 * MLP 4864; encoder gte-base-shaped 768/12/12/3072; LoRA r=16 on all seven projections; the
 * built-in vocabulary, so the LM head is small on both sides) on one backend, beside PyTorch +
 * transformers + peft doing the same step on the same shapes (bench/peer/paper_step.py: frozen
 * encoder over the records, pass 1 without gradient, pass 2 with the LM loss and the
 * contrastive surrogate, backward, AdamW on the LoRA weights). Tokens = real decoder positions
 * (prompt+answer and answer sequences), counted the same way for both.
 *
 *   node dist/bench/paper-step.js [--backend cuda] [--batch 16] [--steps 2] [--peer python3]
 *        [--peer-device cuda] [--peer-dry-run] [--cuda-tf32] [--cuda-driver device|host] [--small] [--json]
 *
 * `--small` shrinks the model to 2 layers of width 64 and `--peer-dry-run` has the peer check its
 * spec without torch (a rehearsal without a GPU).
 */
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tf } from '../src/backend/tf.js';
import { cudaDevice } from '../src/backend/cuda/load.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/log.js';
import { LocalComm } from '../src/train/comm.js';
import { TrainingSession } from '../src/train/session.js';
import type { StepTimings } from '../src/train/step.js';
import { benchData } from './tiny-case.js';
import { median } from './timing.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'cuda' }, batch: { type: 'string', default: '16' }, steps: { type: 'string', default: '2' },
    peer: { type: 'string' }, 'peer-device': { type: 'string', default: 'cuda' }, 'peer-dry-run': { type: 'boolean' }, 'cuda-tf32': { type: 'boolean' },
    'cuda-driver': { type: 'string', default: 'device' }, small: { type: 'boolean' }, json: { type: 'boolean' },
  },
});

const batch = Number(values.batch);
const dims = values.small
  ? { decoder: { hidden: 64, layers: 2, heads: 4, kv_heads: 2, intermediate: 176 }, encoder: { hidden: 32, layers: 1, heads: 2, intermediate: 64 } }
  : { decoder: { hidden: 896, layers: 24, heads: 14, kv_heads: 2, intermediate: 4864 }, encoder: { hidden: 768, layers: 12, heads: 12, intermediate: 3072 } };
const overrides: Record<string, unknown> = {
  backend: values.backend,
  'cuda.tf32': Boolean(values['cuda-tf32']),
  'cuda.driver': values['cuda-driver'],
  'model.decoder.hf_dir': '',
  'model.encoder.hf_dir': '',
  'model.init_std': 0.02,
  'train.global_batch': batch,
  'data.eval': '',
  ...Object.fromEntries(Object.entries(dims.decoder).map(([k, v]) => [`model.decoder.${k}`, v])),
  ...Object.fromEntries(Object.entries(dims.encoder).map(([k, v]) => [`model.encoder.${k}`, v])),
};

const dir = benchData(Math.max(64, 4 * batch));
try {
  const config = loadConfig({ file: 'configs/paper-qwen2.5-0.5b.json', overrides: { ...overrides, 'data.train': join(dir, 'train') }, env: {} });
  const t0 = performance.now();
  const session = await TrainingSession.create(config, { runDir: join(dir, 'run'), log: silentLogger });
  const buildMs = performance.now() - t0;
  const comm = new LocalComm();
  const samples = await session.encode(session.shards.next(batch, 1).perRank[0]!);
  const model = session.built.model;
  // The shapes of this batch, for the peer (the same padded tensors, the same real-token count).
  const prepared = model.prepare(samples, { withAnswer: true });
  const count = (m: Int32Array) => m.reduce((a, b) => a + b, 0);
  const shapes = {
    batch,
    prompt_len: prepared.prompt.length,
    full_len: prepared.full!.length,
    answer_len: prepared.answers.length,
    records: prepared.records_NC?.shape[0] ?? 0,
    record_len: prepared.records_NC?.shape[1] ?? 0,
    lm_targets: prepared.full!.lmLabels.length,
    tokens: count(prepared.full!.mask) + count(prepared.answers.mask),
    vocab: model.decoder.dims.vocab,
    encoder_vocab: model.encoder?.dims.vocab ?? 0,
    decoder: dims.decoder,
    encoder: dims.encoder,
    lora: { r: config.model.lora.r, alpha: config.model.lora.alpha },
  };
  prepared.dispose();
  const warm = performance.now();
  await session.stepper.run([samples], comm);
  const warmupMs = performance.now() - warm;
  const split: StepTimings = { prepare: 0, pass1: 0, gather: 0, loss: 0, pass2: 0, allReduce: 0, optimizer: 0 };
  const steps = Number(values.steps);
  let tokens = 0;
  const stepMs = await median(async () => {
    const r = await session.stepper.run([samples], comm);
    tokens = r.tokens;
    for (const k of Object.keys(split) as (keyof StepTimings)[]) split[k] += r.timings[k] / steps;
  }, steps, 0);
  const mem = tf.memory() as tf.MemoryInfo & { peakBytesInGPU?: number };
  const label = values.backend === 'cuda' ? `cuda (${cudaDevice()?.name}, ${values['cuda-tf32'] ? 'tf32' : 'fp32'})` : String(values.backend);
  const ours = { backend: label, buildMs: Math.round(buildMs), warmupMs: Math.round(warmupMs), stepMs, tokens, tokensPerS: (tokens * 1000) / stepMs, peakMiB: mem.peakBytesInGPU ? Math.round(mem.peakBytesInGPU / 2 ** 20) : null, split, trainable: session.stepper.layout.total };
  await session.close();

  let peer: Record<string, unknown> | null = null;
  if (values.peer) {
    const run = spawnSync(values.peer, ['bench/peer/paper_step.py', JSON.stringify({ ...shapes, device: values['peer-device'], steps, warmup: 1, dry_run: Boolean(values['peer-dry-run']) })], { encoding: 'utf8', timeout: 15 * 60_000 });
    if (run.status === 0) peer = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    else console.error(`peer: ${values.peer} failed (${run.stderr.trim().split('\n').slice(-3).join(' | ') || run.status})`);
  }
  const result = { shapes, ours, peer };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`shapes: ${JSON.stringify(shapes)}`);
    console.log('| who | step ms | tokens/s | peak GPU MiB | build ms | first step ms |');
    console.log('|---|---:|---:|---:|---:|---:|');
    console.log(`| instructue ${ours.backend} | ${ours.stepMs.toFixed(0)} | ${Math.round(ours.tokensPerS)} | ${ours.peakMiB ?? '-'} | ${ours.buildMs} | ${ours.warmupMs} |`);
    if (peer?.plan) console.log(`peer (dry run) accepted the spec: ${JSON.stringify(peer.plan)}`);
    else if (peer) console.log(`| ${peer.who} | ${Number(peer.step_ms).toFixed(0)} | ${Math.round((tokens * 1000) / Number(peer.step_ms))} | ${peer.peak_mib ?? '-'} | - | - |`);
    console.log(`split (ms): ${Object.entries(split).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    if (peer && !peer.plan) console.log(`paper step: instructue ${ours.backend} reaches ${(Number(peer.step_ms) / ours.stepMs).toFixed(3)}× the tokens/s of ${peer.who}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
