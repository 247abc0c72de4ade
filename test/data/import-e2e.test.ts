/**
 * Real-data shapes end to end, through the real CLI in child processes: import → vocab → train
 * (tiny preset, a few steps) → embed (several instructions in one pass) → probe with the
 * baseline and error bars, for
 * - ratings: timestamped item ratings and tags, a user table with demographics and a per-user
 *   cut time of day (test/fixtures/import/ratings/, configs/import/ratings-rules.json);
 * - statements: one row per client with six monthly statements as columns, a global cut
 *   (test/fixtures/import/statements/, configs/import/statements-rules.json).
 * Both check that no future event reaches the inputs: every written event is before its user's
 * cut, and rewriting every future event changes the labels but not one byte of the records'
 * inputs nor one bit of their embeddings.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { isoToMs } from '../../src/data/import/time.js';
import type { UserQARecord } from '../../src/data/types.js';
import { readEmbeddingsFile } from '../../src/eval/embeddings-file.js';
import type { ProbeResult } from '../../src/eval/probe.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('import-e2e');
after(cleanup);

async function cli(...args: string[]): Promise<string> {
  try {
    return (await promisify(execFile)(process.execPath, ['bin/instructue.js', ...args], { maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    const e = err as { code: number; stderr: string };
    throw new Error(`instructue ${args[0]} exited ${e.code}:\n${e.stderr}`);
  }
}
const records = (folder: string): UserQARecord[] =>
  readFileSync(join(folder, 'part-00000.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as UserQARecord);
const inputs = (r: UserQARecord) => JSON.stringify([r.user_id, r.sources, r.tabular]);

interface Shape {
  name: string;
  importArgs: (fixtures: string) => string[];
  rules: string;
  /** Each user's cut time (ms). */
  cutOf: (user: string) => number;
  /** A copy of the fixture with every future event rewritten. */
  perturb: (from: string, to: string) => void;
  scenarios: string[];
  instruction: string;
}

/** Pipeline for one shape; returns what the checks need. */
async function pipeline(shape: Shape, fixtures: string, out: string, workers: number) {
  await cli('import', ...shape.importArgs(fixtures), '--rules', shape.rules, '--out', out, '--eval-share', '0.5');
  await cli('vocab', '--data', join(out, 'train'), '--out', join(out, 'tok'), '--size', '3000');
  const run = join(out, 'run');
  await cli('train', '--config', 'configs/tiny.json', '--out', run, '--steps', '3', '--backend', 'wasm',
    '--set', `data.train=${join(out, 'train')}`, '--set', `model.encoder.tokenizer_dir=${join(out, 'tok')}`,
    '--set', `model.decoder.tokenizer_dir=${join(out, 'tok')}`, '--set', 'model.encoder.max_len=48', '--set', 'train.checkpoint_every=0');
  const emb = join(out, 'emb');
  await cli('embed', '--run', run, '--data', join(out, 'eval'), '--out', emb, '--instructions', `none,${shape.instruction}`, '--workers', String(workers), '--backend', 'wasm');
  const probe = JSON.parse(await cli('probe', '--embeddings', join(emb, 'instruction-0.safetensors'), '--labels', join(out, 'eval'), '--baseline', '--bootstrap', '200', '--scenarios', shape.scenarios.join(','), '--json')) as { embeddings: ProbeResult; baseline: ProbeResult };
  return { run, emb, probe };
}

function checkProbe(probe: { embeddings: ProbeResult; baseline: ProbeResult }, scenarios: string[]): void {
  const { embeddings, baseline } = probe;
  assert.deepEqual(embeddings.scenarios.map((s) => s.scenario), scenarios);
  assert.deepEqual(baseline.scenarios.map((s) => s.scenario), scenarios);
  assert.equal(embeddings.dim, 64);
  assert.ok(baseline.dim > 20, `baseline features: ${baseline.dim}`);
  for (const [a, b] of embeddings.scenarios.map((s, i) => [s, baseline.scenarios[i]!] as const)) {
    // Same users, same split: the same fit and evaluation sets.
    assert.deepEqual([a.nFit, a.nEval, a.positives], [b.nFit, b.nEval, b.positives]);
    for (const s of [a, b]) {
      assert.ok(s.aucSE > 0 && s.aucSE < 0.3 && s.ksSE > 0, JSON.stringify(s));
      assert.ok(s.aucCI95[0] <= s.auc && s.auc <= s.aucCI95[1] && s.ksCI95[0] <= s.ks && s.ks <= s.ksCI95[1], JSON.stringify(s));
    }
  }
}

/** No future event is an input: events before the cut only; rewriting the future changes labels, not inputs or embeddings. */
async function checkNoFuture(shape: Shape, fixtures: string, out: string, run: string, emb: string): Promise<void> {
  for (const split of ['train', 'eval']) {
    for (const r of records(join(out, split))) {
      for (const events of Object.values(r.sources)) for (const e of events) assert.ok(isoToMs(e.ts)! < shape.cutOf(r.user_id), `${shape.name} ${split} ${r.user_id}: ${e.ts} is not before the cut`);
    }
  }
  const changed = join(dir, `${shape.name}-future`);
  mkdirSync(changed, { recursive: true });
  shape.perturb(fixtures, changed);
  const again = join(dir, `${shape.name}-again`);
  await cli('import', ...shape.importArgs(changed), '--rules', shape.rules, '--out', again, '--eval-share', '0.5');
  for (const split of ['train', 'eval']) assert.deepEqual(records(join(again, split)).map(inputs), records(join(out, split)).map(inputs), `${shape.name} ${split}: inputs changed with the future`);
  const labels = (folder: string) => records(folder).map((r) => JSON.stringify(r.labels));
  assert.notDeepEqual(labels(join(again, 'eval')), labels(join(out, 'eval')), 'the rewritten future must change some label');
  await cli('embed', '--run', run, '--data', join(again, 'eval'), '--out', join(again, 'universal.safetensors'), '--backend', 'wasm');
  assert.deepEqual(await readEmbeddingsFile(join(again, 'universal.safetensors')), await readEmbeddingsFile(join(emb, 'instruction-0.safetensors')));
}

const csvRows = (text: string) => text.trim().split('\n').map((l) => l.split(','));

const ratings: Shape = {
  name: 'ratings',
  importArgs: (f) => ['--events', `rating=${join(f, 'ratings.csv')}`, '--events', `tag=${join(f, 'tags.csv')}`, '--users', join(f, 'users.csv')],
  rules: 'configs/import/ratings-rules.json',
  cutOf: (() => {
    const rows = csvRows(readFileSync('test/fixtures/import/ratings/users.csv', 'utf8'));
    const cuts = new Map(rows.slice(1).map((r) => [r[0]!, isoToMs(r[5]!)!]));
    return (u: string) => cuts.get(u)!;
  })(),
  perturb: (from, to) => {
    const cuts = new Map(csvRows(readFileSync(join(from, 'users.csv'), 'utf8')).slice(1).map((r) => [r[0]!, isoToMs(r[5]!)!]));
    writeFileSync(join(to, 'users.csv'), readFileSync(join(from, 'users.csv')));
    // Future ratings become 5-star horror films, future tags become "future"; history untouched.
    const ratingLines = readFileSync(join(from, 'ratings.csv'), 'utf8').trim().split('\n');
    writeFileSync(join(to, 'ratings.csv'), ratingLines.map((line, i) => {
      if (i === 0) return line;
      const [user, , , , , ts] = line.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/);
      return Number(ts) * 1000 >= cuts.get(user!)! ? `${user},1,Night of the Living Dead (1968),Horror,5,${ts}` : line;
    }).join('\n') + '\n');
    const tagLines = readFileSync(join(from, 'tags.csv'), 'utf8').trim().split('\n');
    writeFileSync(join(to, 'tags.csv'), tagLines.map((line, i) => {
      const cells = line.split(',');
      return i > 0 && Number(cells.at(-1)) * 1000 >= cuts.get(cells[0]!)! ? `${cells[0]},Future Film (2001),future,${cells.at(-1)}` : line;
    }).join('\n') + '\n');
  },
  scenarios: ['likes_horror_next'],
  instruction: 'Will this user rate a horror film 4 or 5 stars next?',
};

const statements: Shape = {
  name: 'statements',
  importArgs: (f) => ['--wide', join(f, 'clients.csv')],
  rules: 'configs/import/statements-rules.json',
  cutOf: () => isoToMs('2005-09-01')!,
  perturb: (from, to) => {
    // September (period 1: PAY_0, BILL_AMT1, PAY_AMT1) is the future window: make everyone late.
    const rows = csvRows(readFileSync(join(from, 'clients.csv'), 'utf8'));
    const col = (name: string) => rows[0]!.indexOf(name);
    writeFileSync(join(to, 'clients.csv'), rows.map((r, i) => {
      if (i === 0) return r.join(',');
      const c = r.slice();
      c[col('PAY_0')] = '3';
      c[col('BILL_AMT1')] = '123456';
      c[col('PAY_AMT1')] = '0';
      return c.join(',');
    }).join('\n') + '\n');
  },
  scenarios: ['default_next_month', 'late_in_september'],
  instruction: 'Will this client pay September\'s bill on time?',
};

describe('real-data shapes end to end', () => {
  for (const [shape, workers] of [[ratings, 1], [statements, 2]] as const) {
    it(`${shape.name}: import, vocab, train, embed (${workers} process${workers > 1 ? 'es' : ''}), probe with baseline and error bars; no future event reaches the inputs`, async () => {
      const fixtures = join('test', 'fixtures', 'import', shape.name);
      const out = join(dir, shape.name);
      const { run, emb, probe } = await pipeline(shape, fixtures, out, workers);
      checkProbe(probe, shape.scenarios);
      const files = JSON.parse(readFileSync(join(emb, 'instructions.json'), 'utf8'));
      assert.deepEqual(files.map((f: { instruction: string | null }) => f.instruction), [null, shape.instruction]);
      await checkNoFuture(shape, fixtures, out, run, emb);
    });
  }
});
