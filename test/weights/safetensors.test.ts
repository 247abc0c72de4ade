import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WeightsError } from '../../src/errors.js';
import {
  floatBitsToBf16,
  floatBitsToHalf,
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
  type HostTensor,
} from '../../src/weights/safetensors.js';

const f32 = (shape: number[], values: number[]): HostTensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const i32 = (shape: number[], values: number[]): HostTensor => ({ dtype: 'int32', shape, data: Int32Array.from(values) });

/** A safetensors file built by hand: header JSON text (unpadded) + raw data bytes. */
function rawFile(header: string, data: number[] | Uint8Array = []): Uint8Array {
  const head = Buffer.from(header);
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

function bitsOf(values: number[]): number[] {
  return Array.from(new Uint32Array(Float32Array.from(values).buffer));
}

function floatFromBits(bits: number): number {
  return new Float32Array(Uint32Array.of(bits).buffer)[0]!;
}

/** Expects a WeightsError whose message is exactly `message`. */
function throwsExactly(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WeightsError, `expected WeightsError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

describe('safetensors writer', () => {
  it('writes HF layout: space-padded header, dtype order F32 > I32 > BF16 > F16 then name, metadata first', () => {
    const bytes = serializeSafetensors(
      { b: f32([2], [1, 2]), a: f32([1], [3]), h: f32([1], [1]), n: i32([1], [7]), g: f32([1], [2]) },
      { dtype: (name) => (name === 'h' ? 'F16' : name === 'g' ? 'BF16' : name === 'n' ? 'I32' : 'F32'), metadata: { format: 'pt' } },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = Buffer.from(bytes.subarray(8, 8 + n)).toString();
    const json =
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"n":{"dtype":"I32","shape":[1],"data_offsets":[12,16]},' +
      '"g":{"dtype":"BF16","shape":[1],"data_offsets":[16,18]},"h":{"dtype":"F16","shape":[1],"data_offsets":[18,20]}}';
    assert.equal(n % 8, 0);
    assert.equal(header, json + ' '.repeat(n - json.length));
    // Data: a=3, b=[1,2] (F32), n=7 (I32), g=2 as BF16 0x4000, h=1 as F16 0x3c00.
    const data = Array.from(bytes.subarray(8 + n));
    const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    assert.deepEqual(data, [...bitsOf([3, 1, 2]).flatMap(le32), ...le32(7), 0x00, 0x40, 0x00, 0x3c]);
  });

  it('round-trips F32 and I32 exactly, including special values, scalars and empty tensors', () => {
    const special = [0, -0, 1.5, -2.25e-39, 1e-45, 3.4028234663852886e38, Infinity, -Infinity, NaN, Math.PI];
    const tensors = new Map<string, HostTensor>([
      ['model.norm.weight', f32([2, 5], special)],
      ['scalar', f32([], [42.5])],
      ['empty', f32([0, 3], [])],
      ['ids', i32([3], [-2147483648, 0, 2147483647])],
    ]);
    const parsed = parseSafetensors(serializeSafetensors(tensors, { metadata: { format: 'pt', note: 'x' } }), 'mem');
    assert.deepEqual(parsed.metadata, { format: 'pt', note: 'x' });
    assert.deepEqual([...parsed.stored], [['empty', 'F32'], ['model.norm.weight', 'F32'], ['scalar', 'F32'], ['ids', 'I32']]);
    for (const [name, t] of tensors) {
      const back = parsed.tensors.get(name)!;
      assert.equal(back.dtype, t.dtype);
      assert.deepEqual(back.shape, t.shape);
      assert.deepEqual(Array.from(new Uint32Array(back.data.buffer)), Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)), name);
    }
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`round-trips all 65536 ${dtype} bit patterns exactly (subnormals, Inf, NaN payloads)`, () => {
      const all = new Uint16Array(65536).map((_, i) => i);
      const file = rawFile(`{"x":{"dtype":"${dtype}","shape":[65536],"data_offsets":[0,131072]}}`, new Uint8Array(all.buffer));
      const decoded = parseSafetensors(file, 'all-halves').tensors.get('x')!;
      const again = serializeSafetensors({ x: decoded }, { dtype });
      assert.deepEqual(Buffer.from(again.subarray(again.length - 131072)), Buffer.from(all.buffer));
    });
  }

  it('decodes F16 and BF16 to the exact float32 values', () => {
    const halves = [0x3c00, 0xc000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x8000, 0x3555];
    const file = rawFile('{"h":{"dtype":"F16","shape":[10],"data_offsets":[0,20]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[20,26]}}', [
      ...new Uint8Array(Uint16Array.from(halves).buffer),
      ...new Uint8Array(Uint16Array.of(0x3f80, 0xc049, 0x0001).buffer),
    ]);
    const { tensors } = parseSafetensors(file, 'mem');
    assert.deepEqual(Array.from(tensors.get('h')!.data), [1, -2, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, Infinity, -Infinity, -0, 0.333251953125]);
    assert.deepEqual(Array.from(tensors.get('b')!.data), [1, floatFromBits(0xc0490000), floatFromBits(0x00010000)]);
  });

  it('rounds float32 to F16 to nearest, ties to even, with subnormals and overflow', () => {
    const cases: [number, number][] = [
      [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10 → even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even mantissa 2
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie → up
      [65504, 0x7bff],
      [65519, 0x7bff], // below the tie with 65536 → max
      [65520, 0x7c00], // tie → even → Inf
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie with 0 → even → 0
      [2 ** -25 * 1.5, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal steps → even
      [2 ** -14 - 2 ** -25, 0x0400], // rounds up into the smallest normal
      [-0, 0x8000],
      [1e-10, 0x0000],
      [-1e10, 0xfc00],
      [NaN, 0x7e00],
    ];
    for (const [value, half] of cases) assert.equal(floatBitsToHalf(bitsOf([value])[0]!), half, `F16 of ${value}`);
  });

  it('rounds float32 to BF16 to nearest, ties to even', () => {
    const cases: [number, number][] = [
      [0x3f808000, 0x3f80], // tie, even kept
      [0x3f818000, 0x3f82], // tie, odd rounds up
      [0x3f808001, 0x3f81],
      [0x7f7fffff, 0x7f80], // max float rounds to Inf, as in PyTorch
      [0x00000001, 0x0000],
      [0x7fc00001, 0x7fc0], // NaN stays NaN
      [0x7f800001, 0x7fc0], // NaN whose payload is all in the dropped bits stays NaN
    ];
    for (const [bits, bf16] of cases) assert.equal(floatBitsToBf16(bits), bf16, `BF16 of 0x${bits.toString(16)}`);
  });

  it('decodes integer dtypes to int32 and rejects I64 values outside int32', () => {
    const i64 = new BigInt64Array([-5n, 2147483647n]);
    const file = rawFile(
      '{"l":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"s":{"dtype":"I16","shape":[2],"data_offsets":[16,20]},' +
        '"b":{"dtype":"BOOL","shape":[3],"data_offsets":[20,23]},"u":{"dtype":"U8","shape":[1],"data_offsets":[23,24]},' +
        '"i":{"dtype":"I8","shape":[1],"data_offsets":[24,25]},"d":{"dtype":"F64","shape":[1],"data_offsets":[25,33]}}',
      [...new Uint8Array(i64.buffer), 0xfe, 0xff, 0x07, 0x00, 1, 0, 1, 200, 0x80, ...new Uint8Array(Float64Array.of(0.1).buffer)],
    );
    const { tensors, stored } = parseSafetensors(file, 'ints.safetensors');
    assert.deepEqual(Object.fromEntries([...tensors].map(([k, t]) => [k, [t.dtype, Array.from(t.data)]])), {
      l: ['int32', [-5, 2147483647]],
      s: ['int32', [-2, 7]],
      b: ['int32', [1, 0, 1]],
      u: ['int32', [200]],
      i: ['int32', [-128]],
      d: ['float32', [Math.fround(0.1)]],
    });
    assert.equal(stored.get('l'), 'I64');
    const big = rawFile('{"pos":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', new Uint8Array(BigInt64Array.of(2n ** 31n).buffer));
    throwsExactly(() => parseSafetensors(big, 'ids.safetensors'), 'ids.safetensors: tensor "pos": I64 value 2147483648 at index 0 does not fit int32');
  });

  it('writes atomically to a file and reads it back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'st-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'w.safetensors');
    await writeSafetensors(path, new Map([['w', f32([2, 2], [1, 2, 3, 4])]]), { dtype: 'BF16' });
    assert.deepEqual(await readdir(dir), ['w.safetensors']);
    const parsed = await readSafetensors(path);
    assert.deepEqual(Array.from(parsed.tensors.get('w')!.data), [1, 2, 3, 4]);
    assert.equal(parsed.stored.get('w'), 'BF16');
    await assert.rejects(readSafetensors(join(dir, 'missing.safetensors')), (err: unknown) => err instanceof WeightsError && err.message.startsWith(`${join(dir, 'missing.safetensors')}: cannot read`));
  });
});

describe('safetensors validation', () => {
  const good = serializeSafetensors({ 'model.norm.weight': f32([4], [1, 2, 3, 4]), 'model.embed_tokens.weight': f32([2, 2], [5, 6, 7, 8]) });

  it('detects a truncated file and names the tensor that runs past the end', () => {
    throwsExactly(
      () => parseSafetensors(good.subarray(0, good.length - 3), 'model.safetensors'),
      'model.safetensors: tensor "model.norm.weight": data_offsets [16, 32] run past the end of the 29-byte data buffer (file truncated?)',
    );
    throwsExactly(() => parseSafetensors(good.subarray(0, 20), 'model.safetensors'), `model.safetensors: header length ${good.length - 8 - 32} runs past the end of the 20-byte file (truncated?)`);
    throwsExactly(() => parseSafetensors(good.subarray(0, 5), 'model.safetensors'), 'model.safetensors: file is 5 bytes, too short for the 8-byte header length (truncated?)');
  });

  it('rejects inconsistent headers with the file and tensor named', async () => {
    const cases: [string, Uint8Array, string][] = [
      ['size', rawFile('{"model.norm.weight":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}}', new Uint8Array(12)), 'tensor "model.norm.weight": data_offsets [0, 12] hold 12 bytes but shape [4] of F32 needs 16'],
      ['gap', rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', new Uint8Array(12)), 'tensor "b": data_offsets [8, 12] leave a gap after byte 4'],
      ['overlap', rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)), 'tensor "b": data_offsets [4, 8] overlap the previous tensor, which ends at byte 8'],
      ['start', rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)), 'tensor "a": data_offsets [4, 8] leave a gap after byte 0'],
      ['trailing', rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(6)), 'data buffer is 6 bytes but the tensors end at byte 4 (trailing bytes)'],
      ['dtype', rawFile('{"a":{"dtype":"F42","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), 'tensor "a": unknown dtype "F42"'],
      ['fp8', rawFile('{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1)), 'tensor "a": dtype F8_E4M3 is not supported (only float and integer dtypes that fit float32/int32)'],
      ['shape', rawFile('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', new Uint8Array(4)), 'tensor "a": shape [-1] is not a list of non-negative integers'],
      ['offsets', rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', new Uint8Array(4)), 'tensor "a": data_offsets [4,0] is not [begin, end] with 0 <= begin <= end'],
      ['duplicate', rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "a" :{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), 'header has the key "a" twice'],
      ['json', rawFile('{"a":', new Uint8Array(0)), 'header is not valid JSON'],
      ['metadata', rawFile('{"__metadata__":{"format":1}}'), '__metadata__ value of "format" is not a string'],
      ['huge', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 200_000_000n, true); return b; })(), 'header length 200000000 exceeds the 100 MB limit (not a safetensors file?)'],
    ];
    for (const [label, bytes, message] of cases) {
      assert.throws(
        () => parseSafetensors(bytes, 'model.safetensors'),
        (err: unknown) => err instanceof WeightsError && err.message.startsWith(`model.safetensors: ${message}`),
        label,
      );
    }
  });

  it('names the path when a file on disk is corrupt', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'st-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'model.safetensors');
    await writeFile(path, good.subarray(0, good.length - 1));
    await assert.rejects(readSafetensors(path), (err: unknown) => err instanceof WeightsError && err.message.startsWith(`${path}: tensor "model.norm.weight"`));
    assert.equal((await readFile(path)).length, good.length - 1);
  });

  it('refuses to write a tensor whose data does not match its shape, or an int tensor as float', () => {
    throwsExactly(() => serializeSafetensors({ w: f32([3], [1, 2]) }), 'tensor "w": shape [3] holds 3 values but data has 2');
    throwsExactly(() => serializeSafetensors({ ids: i32([1], [1]) }, { dtype: () => 'F16' }), 'tensor "ids": cannot store a int32 tensor as F16');
  });
});

describe('safetensors files written by HF (test/fixtures/golden, from scripts/golden)', () => {
  const golden = fileURLToPath(new URL('../../../test/fixtures/golden/', import.meta.url));
  const skip = existsSync(join(golden, 'versions.json')) ? false : 'golden fixtures not present (see scripts/golden/README.md)';
  for (const file of ['qwen2-tiny/model', 'qwen2-tiny/expected', 'bert-tiny/model', 'bert-tiny/expected']) {
    it(`re-serialises ${file}.safetensors byte for byte`, { skip }, async () => {
      const path = join(golden, `${file}.safetensors`);
      const bytes = await readFile(path);
      const parsed = parseSafetensors(bytes, path);
      assert.deepEqual(Buffer.from(serializeSafetensors(parsed.tensors, { metadata: parsed.metadata })), bytes);
    });
  }
});
