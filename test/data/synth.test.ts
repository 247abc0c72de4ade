import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { readSamples } from '../../src/data/reader.js';
import { renderSourceLines, renderTabular, renderUserText } from '../../src/data/render.js';
import { DINING } from '../../src/data/synth/catalog.js';
import { KIND_NAMES } from '../../src/data/synth/event-kinds.js';
import { lexiconWords, SYNTH_LEXICON } from '../../src/data/synth/lexicon.js';
import { answerFor, QUESTIONS } from '../../src/data/synth/qa.js';
import { SCENARIO_INSTRUCTIONS, SCENARIO_NAMES } from '../../src/data/synth/scenarios.js';
import { generateUser, type GeneratorParams } from '../../src/data/synth/user.js';
import { SOURCE_NAMES, type UserQARecord } from '../../src/data/types.js';
import { tinyVocabulary } from '../../src/tokenizers/wordpiece-vocab.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('synth');
after(cleanup);

const cli = (...args: string[]) => execFileSync(process.execPath, ['bin/instructue.js', 'synth', ...args], { encoding: 'utf8' });

/** Every file under `root` (relative path → bytes). */
function snapshot(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const rel of readdirSync(root, { recursive: true }) as string[]) {
    const path = join(root, rel);
    if (statSync(path).isFile()) out.set(`/${rel}`, readFileSync(path));
  }
  return out;
}

async function readAll(path: string): Promise<UserQARecord[]> {
  const out: UserQARecord[] = [];
  for await (const s of readSamples(path, { onInvalid: 'fail' })) out.push(s.record);
  return out;
}

describe('synth', () => {
  const base = ['--users', '120', '--eval-users', '60', '--shards', '3'];

  it('writes byte-identical output for the same seed and different output for another', () => {
    cli(...base, '--seed', '5', '--out', join(dir, 'a'));
    cli(...base, '--seed', '5', '--out', join(dir, 'b'));
    cli(...base, '--seed', '6', '--out', join(dir, 'c'));
    const a = snapshot(join(dir, 'a'));
    assert.deepEqual([...a.keys()].sort(), ['/eval/part-00000.jsonl', '/synth.json', '/tabular-schema.json', '/train/part-00000.jsonl', '/train/part-00001.jsonl', '/train/part-00002.jsonl']);
    assert.deepEqual(snapshot(join(dir, 'b')), a);
    const c = snapshot(join(dir, 'c'));
    for (const file of ['/train/part-00000.jsonl', '/eval/part-00000.jsonl']) assert.notDeepEqual(c.get(file), a.get(file));
  });

  it('writes what synth.json says: 1 general + 3 instruction records per training user, 6 labels per evaluation user', async () => {
    const summary = JSON.parse(readFileSync(join(dir, 'a', 'synth.json'), 'utf8'));
    const train = await readAll(join(dir, 'a', 'train'));
    const evaluation = await readAll(join(dir, 'a', 'eval'));
    assert.equal(train.length, 480);
    assert.equal(evaluation.length, 60);
    assert.deepEqual(
      [summary.train_records, summary.eval_records, summary.files.map((f: { records: number }) => f.records)],
      [480, 60, [160, 160, 160, 60]],
    );
    const perUser = new Map<string, Array<string | null>>();
    for (const r of train) perUser.set(r.user_id, [...(perUser.get(r.user_id) ?? []), r.instruction]);
    assert.equal(perUser.size, 120);
    for (const instructions of perUser.values()) {
      assert.equal(instructions[0], null);
      assert.equal(new Set(instructions.slice(1)).size, 3);
    }
    for (const r of evaluation) {
      assert.deepEqual([r.instruction, r.answer, Object.keys(r.labels ?? {})], [null, '', [...SCENARIO_NAMES]]);
      assert.ok(!perUser.has(r.user_id), 'evaluation users are not training users');
    }
  });

  it('--held-out-users writes training-format records of further users, leaves the training and evaluation files as they were, and every general profile states the four habit levels', async () => {
    cli(...base, '--seed', '5', '--held-out-users', '20', '--out', join(dir, 'h'));
    const withHeldOut = snapshot(join(dir, 'h'));
    const plain = snapshot(join(dir, 'a'));
    for (const file of ['/train/part-00000.jsonl', '/train/part-00001.jsonl', '/train/part-00002.jsonl', '/eval/part-00000.jsonl']) assert.deepEqual(withHeldOut.get(file), plain.get(file), file);
    const heldOut = await readAll(join(dir, 'h', 'heldout'));
    assert.equal(heldOut.length, 80);
    assert.deepEqual([...new Set(heldOut.map((r) => r.user_id))], Array.from({ length: 20 }, (_, i) => `u${120 + i}`));
    assert.equal(JSON.parse(readFileSync(join(dir, 'h', 'synth.json'), 'utf8')).held_out_users, 20);
    for (const r of [...heldOut, ...(await readAll(join(dir, 'a', 'train')))].filter((x) => x.instruction === null)) {
      assert.match(r.answer, /^Aged .+ purchasing power, commutes by .+, likes .+ films; mobile games: (often|now and then|rarely); green living: (a lot|somewhat|little); food delivery: (often|now and then|rarely); cinema: (often|now and then|rarely)\.$/, r.answer);
    }
  });

  it('writes gzipped shards holding the same lines', () => {
    cli(...base, '--seed', '5', '--gzip', '--out', join(dir, 'gz'));
    const plain = readFileSync(join(dir, 'a', 'train', 'part-00001.jsonl'));
    assert.deepEqual(gunzipSync(readFileSync(join(dir, 'gz', 'train', 'part-00001.jsonl.gz'))), plain);
  });

  it('refuses to overwrite without --force', () => {
    assert.throws(() => cli(...base, '--out', join(dir, 'a')), (err: { status: number; stderr: string }) => err.status === 2 && /already holds files; pass --force/.test(err.stderr));
  });
});

describe('synthetic users', () => {
  const params: GeneratorParams = { seed: 9, difficulty: 0.5, pairsPerUser: 3, maxEvents: 10 };
  const users = Array.from({ length: 300 }, (_, i) => generateUser(i, params));

  it('only use words from SYNTH_LEXICON, which the tiny vocabulary accepts', () => {
    const lexicon = new Set(SYNTH_LEXICON);
    const texts: string[] = [...Object.values(SCENARIO_INSTRUCTIONS)];
    for (const u of users) {
      const record: UserQARecord = { user_id: u.id, sources: u.history.events, tabular: u.tabular, instruction: null, answer: '' };
      texts.push(renderUserText(record), renderTabular(u.tabular));
      for (const s of SOURCE_NAMES) texts.push(...renderSourceLines(s, u.history.events[s], 100));
      for (const [topic, q] of Object.entries(QUESTIONS)) texts.push(...q.instructions, answerFor(topic, u));
    }
    const unknown = new Set(texts.flatMap(lexiconWords).filter((w) => !lexicon.has(w)));
    assert.deepEqual([...unknown], []);
    const vocabulary = new Set(tinyVocabulary(SYNTH_LEXICON));
    assert.deepEqual(SYNTH_LEXICON.filter((w) => !vocabulary.has(w)), []);
  });

  it('answer each question from the trait it asks about', () => {
    for (const u of users.slice(0, 50)) {
      assert.equal(answerFor('dining', u), `The user prefers ${DINING[u.traits.dining].phrase}.`);
      assert.equal(answerFor('commute', u), `The user mostly commutes by ${u.traits.commute}.`);
    }
    const gamingAnswers = new Set(users.map((u) => `${u.traits.gaming > 0.5}|${answerFor('gaming', u)}`));
    assert.deepEqual([...gamingAnswers].sort(), [
      'false|The user plays mobile games now and then.',
      'false|The user rarely plays mobile games.',
      'true|The user plays mobile games a lot.',
    ]);
  });

  it('keep at most max events per source, and about a third of the events are irrelevant at difficulty 0.5', () => {
    let noise = 0;
    let total = 0;
    for (const u of users) {
      for (const s of SOURCE_NAMES) {
        assert.ok(u.history.events[s].length <= 10);
        for (const k of KIND_NAMES) {
          total += u.history.counts[s][k];
          if (k === 'noise') noise += u.history.counts[s][k];
        }
      }
    }
    const share = noise / total;
    assert.ok(share > 0.3 && share < 0.45, `irrelevant share ${share}`);
    const harder = Array.from({ length: 300 }, (_, i) => generateUser(i, { ...params, difficulty: 1 }));
    const noiseShare = (list: typeof users) => list.reduce((a, u) => a + SOURCE_NAMES.reduce((b, s) => b + u.history.counts[s].noise, 0), 0);
    assert.ok(noiseShare(harder) > 1.5 * noiseShare(users));
  });
});
