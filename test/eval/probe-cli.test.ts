import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { readEmbeddingsFile, writeEmbeddingsFile } from '../../src/eval/embeddings-file.js';
import { formatProbeMarkdown, runProbe, type ProbeResult } from '../../src/eval/probe.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { Rng } from '../../src/util/rng.js';

const root = new URL('../../../', import.meta.url).pathname; // dist/test/eval → repo root
const dir = mkdtempSync(join(tmpdir(), 'instructue-probe-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the real CLI; resolves with exit code and output whatever the code. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(root, 'bin/instructue.js'), 'probe', ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A minimal valid UserQA evaluation line. */
function record(userId: string, labels: Record<string, number>): string {
  return JSON.stringify({ user_id: userId, sources: {}, tabular: {}, instruction: null, answer: '', labels });
}

// 1000 users × 8 dims. "sep" is the sign of the first two dims; "coin" is random; "part" is
// "sep" on even users only. User u7 appears on two lines (labels merged); "ghost" has labels
// but no embedding.
const n = 1000;
const d = 8;
const rng = new Rng('probe-cli');
const embeddings = Float32Array.from({ length: n * d }, () => rng.normal());
const userIds = Array.from({ length: n }, (_, i) => `u${i}`);
const sep = userIds.map((_, i) => (embeddings[i * d] + embeddings[i * d + 1] > 0 ? 1 : 0));
const coin = userIds.map(() => (rng.next() < 0.5 ? 1 : 0));
const lines = userIds.map((u, i) => record(u, i % 2 === 0 ? { sep: sep[i], coin: coin[i], part: sep[i] } : { sep: sep[i], coin: coin[i] }));
lines.push(record('u7', { sep: sep[7] }), record('ghost', { sep: 1, coin: 0 }));

const embPath = join(dir, 'emb.safetensors');
const labelsPath = join(dir, 'eval.jsonl');
writeFileSync(labelsPath, lines.join('\n') + '\n');
writeFileSync(`${embPath}.ids.json`, JSON.stringify(userIds));
await writeSafetensors(embPath, { embeddings: { dtype: 'float32', shape: [n, d], data: embeddings } });

const expected: ProbeResult = runProbe(embeddings, n, d, userIds, {
  sep,
  coin,
  part: sep.map((v, i) => (i % 2 === 0 ? v : NaN)),
});

describe('instructue probe (end to end)', () => {
  it('prints the probe of the files as JSON, equal to the library result', async () => {
    const { code, stdout, stderr } = await cli('--embeddings', embPath, '--labels', labelsPath, '--json');
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), expected);
    assert.ok(expected.scenarios[0].auc > 0.99 && Math.abs(expected.scenarios[1].auc - 0.5) < 0.08);
    const warning = stderr.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.level === 'warn');
    assert.deepEqual([warning?.msg, warning?.users], ['labelled users without an embedding are left out', 1]);
  });

  it('prints and writes the markdown table, for the chosen scenarios only', async () => {
    const out = join(dir, 'probe.md');
    const { code, stdout, stderr } = await cli('--embeddings', embPath, '--labels', labelsPath, '--out', out, '--scenarios', 'coin,sep', '--title', 'Universal');
    assert.equal(code, 0, stderr);
    const want = formatProbeMarkdown({ ...expected, scenarios: [expected.scenarios[1], expected.scenarios[0]] }, 'Universal');
    assert.equal(stdout, want);
    assert.equal(readFileSync(out, 'utf8'), want);
  });

  it('names file, line and field of conflicting labels, and exits 2', async () => {
    const bad = join(dir, 'conflict.jsonl');
    writeFileSync(bad, [record('u1', { sep: 1 }), record('u1', { sep: 0 })].join('\n') + '\n');
    const { code, stderr } = await cli('--embeddings', embPath, '--labels', bad);
    assert.equal(code, 2);
    assert.match(stderr, /conflict:2 labels\.sep: user "u1" is labelled 0 here but 1 on an earlier line/);
  });

  it('explains a scenario that has one class, and an unknown scenario', async () => {
    const oneClass = join(dir, 'one-class.jsonl');
    writeFileSync(oneClass, userIds.map((u) => record(u, { never: 0 })).join('\n') + '\n');
    const a = await cli('--embeddings', embPath, '--labels', oneClass);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /scenario "never" has \d+ labelled users in the fit half, none of them positive.*--scenarios/);
    const b = await cli('--embeddings', embPath, '--labels', labelsPath, '--scenarios', 'sep,nope');
    assert.equal(b.code, 2);
    assert.match(b.stderr, /no labels for scenario\(s\) nope; the file has sep, coin, part/);
  });
});

describe('embeddings file', () => {
  it('round-trips through writeEmbeddingsFile / readEmbeddingsFile', async () => {
    const path = join(dir, 'round.safetensors');
    const file = { embeddings: Float32Array.of(1, 2, 3, 4, 5, 6), n: 3, d: 2, userIds: ['a', 'b', 'c'] };
    await writeEmbeddingsFile(path, file);
    assert.deepEqual(await readEmbeddingsFile(path), file);
    assert.equal(readFileSync(`${path}.ids.json`, 'utf8'), '["a","b","c"]');
  });

  it('rejects a missing ids sidecar or a wrong count, naming the fix', async () => {
    const path = join(dir, 'lonely.safetensors');
    await writeSafetensors(path, { embeddings: { dtype: 'float32', shape: [2, 1], data: Float32Array.of(1, 2) } });
    await assert.rejects(readEmbeddingsFile(path), /lonely\.safetensors\.ids\.json: cannot read the user ids .* JSON array of the 2 user ids/);
    writeFileSync(`${path}.ids.json`, '["x"]');
    await assert.rejects(readEmbeddingsFile(path), /holds 1 user ids but .* has 2 embedding rows/);
  });
});
