import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scatterSvg } from '../../src/eval/svg-scatter.js';

/** [cx, cy] of every <circle> with the given fill, in document order. */
function circles(svg: string, fill: string): number[][] {
  return [...svg.matchAll(/<circle cx="([-\d.]+)" cy="([-\d.]+)" r="[\d.]+" fill="([^"]+)"/g)]
    .filter((m) => m[3] === fill)
    .map((m) => [Number(m[1]), Number(m[2])]);
}

describe('scatterSvg', () => {
  const panels = [
    { title: 'Universal', points: [0, 0, 1, 1, 2, 0.5], labels: [0, 1, 0] },
    { title: 'Instruction: a < b & "c"', points: [10, 10, -10, -10], labels: [1, 1] },
  ];
  const svg = scatterSvg(panels, { title: 'Fig. 5', labelNames: ['no churn', 'churn'], panelSize: 200 });

  it('is one well-formed SVG document with a circle per point plus two legend circles', () => {
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="472" height="288" /);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    assert.equal(svg.match(/<circle /g)?.length, 5 + 2);
    assert.equal(svg.match(/<g /g)?.length, svg.match(/<\/g>/g)?.length);
    assert.equal(svg.match(/<text /g)?.length, 1 + 2 + 2);
    assert.equal(svg.match(/<svg /g)?.length, 1);
    assert.ok(!/<[^>]*<|&(?!amp;|lt;|gt;|quot;|apos;)/.test(svg), 'no stray < or unescaped &');
  });

  it('escapes titles and colours points by label, negatives first', () => {
    assert.ok(svg.includes('>Instruction: a &lt; b &amp; &quot;c&quot;</text>'));
    assert.ok(svg.includes('>no churn</text>') && svg.includes('>churn</text>'));
    // Panel 1 (200 px, padding 12): x spans 0..2, y spans 0..1 → scale 88 px per unit, y
    // centred with offset 12 + (176 − 88)/2 = 56 and flipped: (0,0) → (12, 144), (2,0.5) → (188, 100).
    const blue = circles(svg, '#0072B2');
    const red = circles(svg, '#D55E00');
    assert.deepEqual(blue.slice(0, 2), [[12, 144], [188, 100]]);
    assert.deepEqual(red.slice(0, 1), [[100, 56]]);
    // Panel 2: two positives at opposite corners of its box.
    assert.deepEqual(red.slice(1, 3), [[188, 12], [12, 188]]);
    assert.equal(blue.length + red.length, 7);
  });

  it('refuses mismatched points and labels, and non-binary labels', () => {
    assert.throws(() => scatterSvg([{ title: 'x', points: [0, 0, 1], labels: [0] }]), /1.5 points but 1 labels/);
    assert.throws(() => scatterSvg([{ title: 'x', points: [0, 0], labels: [2] }]), /label 0 is 2/);
  });
});
