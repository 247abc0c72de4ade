/**
 * @module bench/embed
 * `instructue embed` throughput on the tiny preset, before and after the batched path, in 1 and
 * 2 processes: user embeddings per second (users × instructions / wall seconds) on synthetic
 * evaluation users, K instructions (the universal embedding plus the six scenarios' written
 * instructions, as the report embeds them).
 *
 * - before: `--before DIR` is a built checkout of the code to compare with (e.g. the commit
 *   before the batched path: `git archive <commit> | tar -x -C DIR`, link node_modules, `npx tsc`);
 *   its CLI trains its own run (same preset, seed and data: only speed is compared) and its
 *   `embed --instruction X` runs once per instruction (K processes, one after another), as
 *   a user had to. "2 processes" runs two such chains at once, each on half of the users (what a
 *   user could script by splitting the file). Without --before, the in-tree reference path
 *   (`embedEncoded`: one `prepare` and decoder pass per batch, one pass per instruction) stands in.
 * - after: `instructue embed --instructions …` (distinct records encoded once per chunk of 256
 *   users, all K instructions in one pass) with `--workers 1` and `--workers 2`.
 * Every case is fresh processes (model load included), cases interleaved over rounds; the
 * figures use each case's fastest round (the one least disturbed by the machine's other load),
 * and the ratios are what count on a shared machine; every round's seconds are printed too.
 * `--in-process` (needs --before) instead alternates, in this one process and without model
 * loads, the old checkout's `embedUsers` (its own model code, one call per instruction) with
 * `embedMany` (all instructions at once): the single-process speed-up with the least noise.
 *
 * Usage: node dist/bench/embed.js [--users 500] [--instructions 7] [--rounds 2] [--before DIR] [--in-process]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.js';
import { encodeContextOf } from '../src/model/encode-context.js';
import { encodeSample } from '../src/data/collate.js';
import { readSamples } from '../src/data/reader.js';
import { SCENARIO_INSTRUCTIONS } from '../src/data/synth/scenarios.js';
import { writeSynth } from '../src/data/synth/write.js';
import type { Sample } from '../src/data/types.js';
import { embedEncoded, withInstruction } from '../src/eval/embed.js';
import { silentLogger } from '../src/log.js';
import { loadTrainedModel } from '../src/train/load-trained.js';
import { trainLocal } from '../src/train/local-trainer.js';

const ROOT = new URL('../../', import.meta.url).pathname; // dist/bench → repo root
const run = promisify(execFile);

/** Child mode: the pre-change embed loop over samples [start, end) for each instruction. */
async function oldChild(runDir: string, data: string, start: number, end: number, instructions: Array<string | null>): Promise<void> {
  const trained = await loadTrainedModel({ run: runDir, log: silentLogger, backend: 'wasm' });
  const context = encodeContextOf(trained.config, trained.built, trained.tabularSchema);
  const samples: Sample[] = [];
  let i = 0;
  for await (const s of readSamples(data, { onInvalid: 'fail' })) if (i++ >= start && i <= end) samples.push(s);
  for (const instruction of instructions) {
    for (let b = 0; b < samples.length; b += 32) {
      embedEncoded(trained.built.model, samples.slice(b, b + 32).map((s) => encodeSample(withInstruction(s, instruction), context)));
    }
  }
  trained.built.model.dispose();
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { users: { type: 'string' }, instructions: { type: 'string' }, rounds: { type: 'string' }, 'old-child': { type: 'string' }, before: { type: 'string' }, 'in-process': { type: 'boolean' } } });
  if (values['old-child']) {
    const [runDir, data, start, end, list] = JSON.parse(values['old-child']) as [string, string, number, number, Array<string | null>];
    await oldChild(runDir, data, start, end, list);
    return;
  }
  const users = Number(values.users ?? 500);
  const k = Number(values.instructions ?? 7);
  const rounds = Number(values.rounds ?? 2);
  const instructions: Array<string | null> = [null, ...Object.values(SCENARIO_INSTRUCTIONS)].slice(0, k);
  const dir = mkdtempSync(join(tmpdir(), 'instructue-bench-embed-'));
  try {
    writeSynth({ out: dir, users: 200, evalUsers: users, shards: 2, gzip: false, seed: 5, difficulty: 0.5, pairsPerUser: 3, maxEvents: 10 });
    const runDir = join(dir, 'run');
    const config = loadConfig({ file: join(ROOT, 'configs/tiny.json'), env: {}, overrides: { 'data.train': join(dir, 'train'), backend: 'wasm', 'train.steps': 2, 'train.checkpoint_every': 0 } });
    await trainLocal({ config, out: runDir, resume: false, allowConfigChange: false, log: silentLogger });
    const data = join(dir, 'eval');
    const half = Math.ceil(users / 2);
    const lines = readFileSync(join(data, 'part-00000.jsonl'), 'utf8').split('\n').filter(Boolean);
    const halves = [lines.slice(0, half), lines.slice(half)].map((part, h) => {
      const folder = join(dir, `half-${h}`);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'part-00000.jsonl'), part.join('\n') + '\n');
      return folder;
    });
    const before = values.before;
    // The code before reads only the runs it writes: train its own (same preset, seed and data).
    const oldRun = join(dir, 'run-before');
    if (before) {
      await run(process.execPath, [join(before, 'bin/instructue.js'), 'train', '--config', join(before, 'configs/tiny.json'), '--out', oldRun, '--steps', '2',
        '--backend', 'wasm', '--set', `data.train=${join(dir, 'train')}`, '--set', 'train.checkpoint_every=0'], { maxBuffer: 1 << 24 });
    }
    // One old CLI process per instruction, in sequence (on `path`); or the in-tree reference.
    const old = async (path: string, start: number, end: number) => {
      if (!before) return run(process.execPath, [join(ROOT, 'dist/bench/embed.js'), '--old-child', JSON.stringify([runDir, data, start, end, instructions])], { maxBuffer: 1 << 24 });
      for (const [i, t] of instructions.entries()) {
        await run(process.execPath, [join(before, 'bin/instructue.js'), 'embed', '--run', oldRun, '--data', path, '--out', join(dir, `old-${start}-${i}.safetensors`), '--backend', 'wasm', ...(t === null ? [] : ['--instruction', t])], { maxBuffer: 1 << 24 });
      }
      return undefined;
    };
    if (values['in-process']) {
      if (!before) throw new Error('--in-process needs --before DIR');
      await inProcess(before, oldRun, runDir, data, instructions, users, rounds);
      return;
    }
    const cli = (workers: number) => run(process.execPath, [
      join(ROOT, 'bin/instructue.js'), 'embed', '--run', runDir, '--data', data, '--out', join(dir, `emb-${workers}`), '--backend', 'wasm',
      '--instructions', instructions.map((t) => t ?? 'none').join(','), '--workers', String(workers), '--json',
    ], { maxBuffer: 1 << 24 });
    const cases: Record<string, () => Promise<unknown>> = {
      'before, 1 process': () => old(data, 0, users),
      'before, 2 processes': () => Promise.all([old(halves[0]!, 0, half), old(halves[1]!, half, users)]),
      'after, 1 process': () => cli(1),
      'after, 2 processes': () => cli(2),
    };
    const seconds: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((c) => [c, []]));
    for (let r = 0; r < rounds; r++) {
      const names = Object.keys(cases);
      // Alternate the order so drift in the machine's load hits every case alike.
      for (const name of r % 2 === 0 ? names : names.reverse()) seconds[name]!.push(await timed(cases[name]!));
    }
    const best = (x: number[]) => Math.min(...x);
    const base = users * k / best(seconds['before, 1 process']!);
    for (const [name, s] of Object.entries(seconds)) {
      const rate = users * k / best(s);
      console.log(JSON.stringify({ case: name, before: before ? 'old CLI' : 'in-tree reference', users, instructions: k, rounds, seconds: s.map((x) => Math.round(x * 100) / 100), user_embeddings_per_s: Math.round(rate * 10) / 10, vs_before_1_process: Math.round((rate / base) * 100) / 100 }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Old `embedUsers` (the checkout's own code) against `embedMany`, alternating in this process. */
async function inProcess(before: string, oldRun: string, newRun: string, data: string, instructions: Array<string | null>, users: number, rounds: number): Promise<void> {
  const mod = (path: string) => import(join(before, 'dist/src', path));
  const oldLoad = (await mod('train/load-trained.js')).loadTrainedModel;
  const oldEmbed = (await mod('eval/embed.js')).embedUsers;
  const oldContext = (await mod('data/encode-context.js')).encodeContextOf;
  const { embedMany } = await import('../src/eval/batched-embed.js');
  const samples: Sample[] = [];
  for await (const s of readSamples(data, { onInvalid: 'fail' })) samples.push(s);
  const o = await oldLoad({ run: oldRun, log: silentLogger, backend: 'wasm' });
  const n = await loadTrainedModel({ run: newRun, log: silentLogger, backend: 'wasm' });
  const oc = oldContext(o.config, o.built, o.tabularSchema);
  const nc = encodeContextOf(n.config, n.built, n.tabularSchema);
  const cases: Record<string, () => Promise<unknown>> = {
    'before (in process)': async () => {
      for (const instruction of instructions) await oldEmbed(o.built.model, samples, { context: oc, instruction });
    },
    'after (in process)': () => embedMany(n.built.model, samples, { context: nc, jobs: instructions.map((instruction) => ({ instruction })) }),
  };
  const seconds: Record<string, number[]> = { 'before (in process)': [], 'after (in process)': [] };
  for (let r = 0; r < rounds; r++) for (const name of r % 2 === 0 ? Object.keys(cases) : Object.keys(cases).reverse()) seconds[name]!.push(await timed(cases[name]!));
  const k = instructions.length;
  const base = (users * k) / Math.min(...seconds['before (in process)']!);
  for (const [name, s] of Object.entries(seconds)) {
    const rate = (users * k) / Math.min(...s);
    console.log(JSON.stringify({ case: name, users, instructions: k, rounds, seconds: s.map((x) => Math.round(x * 100) / 100), user_embeddings_per_s: Math.round(rate * 10) / 10, vs_before: Math.round((rate / base) * 100) / 100 }));
  }
  o.built.model.dispose();
  n.built.model.dispose();
}

await main();
