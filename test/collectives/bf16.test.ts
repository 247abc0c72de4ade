import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bf16BitsOf, bf16ToFloat32, float32ToBf16, roundToBf16InPlace } from '../../src/collectives/bf16.js';
import { Rng } from '../../src/util/rng.js';

const bitsOf = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0] as number;
const floatOf = (bits: number) => new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0] as number;

describe('bf16 conversion', () => {
  it('rounds to nearest with ties to even, and handles the IEEE specials', () => {
    const cases: Array<[string, number, number]> = [
      ['1', 0x3f800000, 0x3f80],
      ['1 + 2^-8 (tie, even stays)', 0x3f808000, 0x3f80],
      ['1 + 3*2^-8 (tie, odd rounds up)', 0x3f818000, 0x3f82],
      ['just above a tie rounds up', 0x3f808001, 0x3f81],
      ['just below a tie rounds down', 0x3f807fff, 0x3f80],
      ['-1.5', 0xbfc00000, 0xbfc0],
      ['-0', 0x80000000, 0x8000],
      ['largest float32 overflows to +Inf', 0x7f7fffff, 0x7f80],
      ['largest bf16 is exact', 0x7f7f0000, 0x7f7f],
      ['+Inf', 0x7f800000, 0x7f80],
      ['-Inf', 0xff800000, 0xff80],
      ['quiet NaN', 0x7fc00000, 0x7fc0],
      ['signalling NaN stays NaN (not Inf)', 0x7f800001, 0x7fc0],
      ['negative NaN keeps its sign', 0xffc00001, 0xffc0],
      ['smallest subnormal rounds to 0', 0x00000001, 0x0000],
      ['subnormal tie to even', 0x00018000, 0x0002],
    ];
    for (const [name, input, expected] of cases) assert.equal(bf16BitsOf(input), expected, name);
  });

  it('every non-NaN bf16 value survives widening and narrowing', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = float32ToBf16(bf16ToFloat32(all));
    for (let i = 0; i < 65536; i++) {
      const isNaN = (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
      if (!isNaN) assert.equal(back[i], i);
      else assert.ok(Number.isNaN(bf16ToFloat32(Uint16Array.of(back[i] as number))[0]));
    }
  });

  it('picks the nearer of the two neighbouring bf16 values (checked with plain arithmetic)', () => {
    const rng = new Rng('bf16-nearest');
    const values = rng.normalArray(20000, 1000);
    const rounded = roundToBf16InPlace(values.slice());
    for (let i = 0; i < values.length; i++) {
      const x = values[i] as number;
      const r = rounded[i] as number;
      const down = floatOf(bitsOf(x) & 0xffff0000); // truncation toward zero
      const up = floatOf((bitsOf(x) & 0xffff0000) + 0x10000);
      assert.ok(r === down || r === up, `${x} → ${r}`);
      const other = r === down ? up : down;
      assert.ok(Math.abs(x - r) <= Math.abs(x - other), `${x} → ${r}, ${other} is nearer`);
      assert.ok(Math.abs(x - r) <= Math.abs(x) * 2 ** -8);
    }
  });

  it('float32ToBf16 and roundToBf16InPlace agree', () => {
    const values = new Rng('bf16-agree').uniformArray(1000, 5);
    assert.deepEqual(bf16ToFloat32(float32ToBf16(values)), roundToBf16InPlace(values.slice()));
  });
});
