import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retrievalOfEmbeddings } from '../../src/eval/retrieval.js';

/** Records: 4 general ones with distinct answers, 8 of one instruction with two template answers. */
const records = [
  ...['p0', 'p1', 'p2', 'p3'].map((answer) => ({ instruction: null, answer })),
  ...Array.from({ length: 8 }, (_, i) => ({ instruction: 'Q?', answer: i % 2 === 0 ? 'yes' : 'no' })),
].map((r) => ({ record: { user_id: 'x', sources: {}, ...r } })) as unknown as Parameters<typeof retrievalOfEmbeddings>[1];

/** One-hot rows: row i gets axis `axis(i)` (D = 6). */
function oneHot(axis: (i: number) => number): Float32Array {
  const out = new Float32Array(records.length * 6);
  records.forEach((_, i) => (out[i * 6 + axis(i)] = 1));
  return out;
}
const answerAxis = (i: number) => (i < 4 ? i : 4 + (i % 2));

describe('shortcut-free retrieval', () => {
  it('a user embedding equal to its answer\'s: top-1 = 1 in every kind of batch, L_cl as computed by hand, chance levels from the duplicates', () => {
    const e = { u: oneHot(answerAxis), a: oneHot(answerAxis), d: 6 };
    const r = retrievalOfEmbeddings(e, records, { batch: 4, tau: 0.5, seed: 1 });
    assert.equal(r.records, 12);
    assert.equal(r.noInstruction!.batches, 1);
    assert.equal(r.sameTopic!.batches, 2);
    assert.equal(r.mixed!.batches, 3);
    for (const s of [r.noInstruction!, r.sameTopic!, r.mixed!]) assert.equal(s.top1, 1);
    // General batch: s_ii = 1/τ = 2, all 3(B − 1) = 9 negatives score 0.
    assert.ok(Math.abs(r.noInstruction!.loss - (Math.log(Math.exp(2) + 9) - 2)) < 1e-6);
    assert.equal(r.noInstruction!.chanceTop1, 0.25);
    assert.equal(r.noInstruction!.chanceLoss, Math.log(10));
    assert.equal(r.noInstruction!.top1SE, 0);
    // Same-topic batches: two template answers, so a random pick is right half the time or more.
    assert.ok(r.sameTopic!.chanceTop1 >= 0.5, `${r.sameTopic!.chanceTop1}`);
  });

  it('a user embedding that knows only the instruction: top-1 at chance on general and same-topic batches, above it on mixed ones', () => {
    // u: general records on one axis, instruction records on another; a: as above.
    const e = { u: oneHot((i) => (i < 4 ? 0 : 4)), a: oneHot(answerAxis), d: 6 };
    const r = retrievalOfEmbeddings(e, records, { batch: 4, tau: 0.5, seed: 1 });
    // Every general row picks p0 (the only answer on its axis): right for 1 row of 4, which is chance.
    assert.equal(r.noInstruction!.top1, 0.25);
    assert.ok(r.mixed!.top1 > r.mixed!.chanceTop1, `mixed ${r.mixed!.top1} vs chance ${r.mixed!.chanceTop1}`);
  });
});
