/**
 * @module weights/safetensors
 * Reader and writer of the safetensors format (huggingface/safetensors), pure Node, no tfjs.
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON header, then the data buffer.
 * The header maps tensor names to `{dtype, shape, data_offsets: [begin, end)}` (offsets relative to
 * the data buffer) plus an optional `__metadata__` string map. The reader applies the format's own
 * validation rules (header ≤ 100 MB, no duplicate keys, known dtype, byte size = numel × itemsize,
 * offsets contiguous from 0, buffer ends exactly at the last tensor) so that a truncated or
 * inconsistent file fails with a `WeightsError` naming the file and the tensor.
 *
 * tfjs has only float32 and int32, so every float dtype is decoded to float32 (BF16: bits << 16;
 * F16: IEEE half incl. subnormals, Inf, NaN) and every integer dtype to int32 (checked to fit).
 * The writer behaves like HF's: header padded with spaces to a multiple of 8, tensors ordered by
 * dtype (F32, I32, BF16, F16) then name, and float32 → F16/BF16 with round-to-nearest-even.
 */
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';
import { endianness } from 'node:os';
import assert from 'node:assert/strict';
import { WeightsError } from '../errors.js';

/** A tensor held in host memory, in one of the two dtypes tfjs computes with. */
export interface HostTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

/** The dtypes the writer can store. */
export type StoredDtype = 'F32' | 'F16' | 'BF16' | 'I32';

/** Options of `serializeSafetensors` / `writeSafetensors`. */
export interface SafetensorsWriteOptions {
  /** File dtype of float32 tensors (default F32), or a choice per tensor name. int32 tensors are always I32. */
  dtype?: 'F32' | 'F16' | 'BF16' | ((name: string) => StoredDtype);
  /** The `__metadata__` string map (HF writes `{format: 'pt'}`, which transformers expects). */
  metadata?: Record<string, string>;
}

/** Result of parsing one file. */
export interface ParsedSafetensors {
  tensors: Map<string, HostTensor>;
  /** File dtype of each tensor, e.g. 'BF16' (the decoded tensor is float32). */
  stored: Map<string, string>;
  metadata: Record<string, string>;
}

const MAX_HEADER_BYTES = 100_000_000;
// We view file bytes through typed arrays, which use host byte order; safetensors is little-endian.
assert.equal(endianness(), 'LE', 'safetensors decoding assumes a little-endian host');

/** Bytes per element; the dtypes of the format we know, supported or not. */
const ITEM_SIZE: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

// ---------------------------------------------------------------------------------------------
// Half-precision codecs (bit level, exact)

let halfTable: Uint32Array | undefined;

/** float32 bit patterns of all 65536 IEEE half values, built once (256 KB). */
function halfToFloatBits(): Uint32Array {
  if (halfTable) return halfTable;
  const table = new Uint32Array(65536);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      f32[0] = mant * 2 ** -24; // zero or subnormal: exact in float32
      table[h] = sign | u32[0]!;
    } else if (exp === 31) {
      table[h] = sign | 0x7f800000 | (mant << 13); // Inf, or NaN with its payload
    } else {
      table[h] = sign | ((exp + 112) << 23) | (mant << 13);
    }
  }
  halfTable = table;
  return table;
}

/** IEEE half bits of a float32 (given as bits), rounded to nearest, ties to even. */
export function floatBitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 0x200 : payload); // keep a NaN a NaN
  }
  const e = exp - 112; // re-biased exponent (127 → 15)
  if (e >= 31) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal → ±0
    const full = mant | 0x800000; // make the implicit bit explicit
    const shift = 14 - e; // 13 mantissa bits dropped plus the denormalisation
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const tie = 1 << (shift - 1);
    if (rest > tie || (rest === tie && (half & 1) === 1)) half++; // may carry into the min normal: correct
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // a carry may reach Inf: correct
  return sign | half;
}

/** bfloat16 bits of a float32 (given as bits), rounded to nearest, ties to even. */
export function floatBitsToBf16(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
    const top = x >>> 16;
    return (top & 0x7f) === 0 ? top | 0x40 : top; // keep a NaN a NaN
  }
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Parses a whole safetensors file held in memory. `source` names the file in errors. */
export function parseSafetensors(bytes: Uint8Array, source: string): ParsedSafetensors {
  const fail = (what: string): never => {
    throw new WeightsError(`${source}: ${what}`);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLen} exceeds the 100 MB limit (not a safetensors file?)`);
  const n = Number(headerLen);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the ${bytes.length}-byte file (truncated?)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    return fail(`header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const duplicate = firstDuplicateTopLevelKey(text);
  if (duplicate !== undefined) fail(`header has the key "${duplicate}" twice`);

  const entries = Object.entries(header as Record<string, unknown>);
  const metadata = readMetadata(entries.find(([k]) => k === '__metadata__')?.[1], fail);
  const infos = entries.filter(([k]) => k !== '__metadata__').map(([name, raw]) => checkEntry(name, raw, source));
  // Offsets must tile the data buffer from 0 without gaps or overlaps.
  const sorted = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataLen = bytes.length - 8 - n;
  let expected = 0;
  for (const t of sorted) {
    if (t.begin !== expected) {
      fail(`tensor "${t.name}": data_offsets [${t.begin}, ${t.end}] ${t.begin > expected ? `leave a gap after byte ${expected}` : `overlap the previous tensor, which ends at byte ${expected}`}`);
    }
    if (t.end > dataLen) fail(`tensor "${t.name}": data_offsets [${t.begin}, ${t.end}] run past the end of the ${dataLen}-byte data buffer (file truncated?)`);
    expected = t.end;
  }
  if (expected !== dataLen) fail(`data buffer is ${dataLen} bytes but the tensors end at byte ${expected} (trailing bytes)`);

  const tensors = new Map<string, HostTensor>();
  const stored = new Map<string, string>();
  const dataStart = 8 + n;
  for (const t of infos) {
    // Copy into a fresh, aligned buffer so typed-array views are always legal (Buffer.slice would alias).
    const raw = new Uint8Array(bytes.subarray(dataStart + t.begin, dataStart + t.end));
    tensors.set(t.name, { ...decode(t, raw, source), shape: t.shape });
    stored.set(t.name, t.dtype);
  }
  return { tensors, stored, metadata };
}

/** Reads and parses a safetensors file (read whole: Node buffers hold up to 4 GiB). */
export async function readSafetensors(path: string): Promise<ParsedSafetensors> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new WeightsError(`${path}: cannot read (${(err as Error).message})`, { cause: err });
  }
  return parseSafetensors(bytes, path);
}

interface EntryInfo {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function checkEntry(name: string, raw: unknown, source: string): EntryInfo {
  const fail = (what: string): never => {
    throw new WeightsError(`${source}: tensor "${name}": ${what}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail('header entry is not an object');
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string') return fail('dtype is missing');
  const itemSize = ITEM_SIZE[dtype];
  if (itemSize === undefined) return fail(`unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isCount)) return fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[1] < offsets[0]) {
    return fail(`data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`);
  }
  const [begin, end] = offsets as [number, number];
  const need = (shape as number[]).reduce((a, b) => a * b, 1) * itemSize;
  if (end - begin !== need) {
    fail(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${need}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function readMetadata(raw: unknown, fail: (what: string) => never): Record<string, string> {
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail('__metadata__ is not an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') fail(`__metadata__ value of "${k}" is not a string`);
    out[k] = v as string;
  }
  return out;
}

/** JSON.parse keeps the last of duplicate keys silently; the format forbids them, so scan for them. */
function firstDuplicateTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      let k = j + 1;
      while (/\s/.test(text[k] ?? '')) k++;
      if (depth === 1 && text[k] === ':') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
      }
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return undefined;
}

function decode(t: EntryInfo, raw: Uint8Array, source: string): Omit<HostTensor, 'shape'> {
  const buf = raw.buffer;
  const count = raw.length / ITEM_SIZE[t.dtype]!;
  switch (t.dtype) {
    case 'F32':
      return { dtype: 'float32', data: new Float32Array(buf) };
    case 'F64':
      return { dtype: 'float32', data: Float32Array.from(new Float64Array(buf)) };
    case 'BF16': {
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      const u16 = new Uint16Array(buf);
      for (let i = 0; i < count; i++) bits[i] = u16[i]! << 16;
      return { dtype: 'float32', data: out };
    }
    case 'F16': {
      const table = halfToFloatBits();
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      const u16 = new Uint16Array(buf);
      for (let i = 0; i < count; i++) bits[i] = table[u16[i]!]!;
      return { dtype: 'float32', data: out };
    }
    case 'I32':
      return { dtype: 'int32', data: new Int32Array(buf) };
    case 'I16':
      return { dtype: 'int32', data: Int32Array.from(new Int16Array(buf)) };
    case 'U16':
      return { dtype: 'int32', data: Int32Array.from(new Uint16Array(buf)) };
    case 'I8':
      return { dtype: 'int32', data: Int32Array.from(new Int8Array(buf)) };
    case 'U8':
      return { dtype: 'int32', data: Int32Array.from(raw) };
    case 'BOOL':
      return { dtype: 'int32', data: Int32Array.from(raw, (b) => (b === 0 ? 0 : 1)) };
    case 'U32':
      return { dtype: 'int32', data: checkedInt32(new Uint32Array(buf), t, source) };
    case 'I64':
      return { dtype: 'int32', data: checkedInt32(new BigInt64Array(buf), t, source) };
    case 'U64':
      return { dtype: 'int32', data: checkedInt32(new BigUint64Array(buf), t, source) };
    default:
      throw new WeightsError(`${source}: tensor "${t.name}": dtype ${t.dtype} is not supported (only float and integer dtypes that fit float32/int32)`);
  }
}

function checkedInt32(values: ArrayLike<number | bigint>, t: EntryInfo, source: string): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (v < -2147483648 || v > 2147483647) {
      throw new WeightsError(`${source}: tensor "${t.name}": ${t.dtype} value ${values[i]} at index ${i} does not fit int32`);
    }
    out[i] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** HF's writer orders tensors by its Dtype enum, descending: F32 > I32 > BF16 > F16. */
const DTYPE_RANK: Record<StoredDtype, number> = { F32: 3, I32: 2, BF16: 1, F16: 0 };

/** Encodes tensors as a safetensors file, byte-compatible with HF's writer. */
export function serializeSafetensors(
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  options: SafetensorsWriteOptions = {},
): Uint8Array {
  const list = (tensors instanceof Map ? [...tensors] : Object.entries(tensors)).map(([name, t]) => {
    const dtype = storedDtype(name, t, options.dtype);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) {
      throw new WeightsError(`tensor "${name}": shape ${JSON.stringify(t.shape)} holds ${numel} values but data has ${t.data.length}`);
    }
    return { name, t, dtype, bytes: numel * ITEM_SIZE[dtype]! };
  });
  list.sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));

  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  let offset = 0;
  for (const e of list) {
    header[e.name] = { dtype: e.dtype, shape: e.t.shape, data_offsets: [offset, offset + e.bytes] };
    offset += e.bytes;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json);
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const headerBytes = Buffer.from(json);

  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const e of list) {
    out.set(encode(e.t, e.dtype), at);
    at += e.bytes;
  }
  return out;
}

/** Writes a safetensors file atomically (temp file in the same folder, then rename). */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  options: SafetensorsWriteOptions = {},
): Promise<void> {
  const bytes = serializeSafetensors(tensors, options);
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new WeightsError(`${path}: cannot write (${(err as Error).message})`, { cause: err });
  }
}

/** Bytes the data of `t` takes in a file written with `choice`. */
export function storedByteLength(name: string, t: HostTensor, choice?: SafetensorsWriteOptions['dtype']): number {
  return t.data.length * ITEM_SIZE[storedDtype(name, t, choice)]!;
}

function storedDtype(name: string, t: HostTensor, choice: SafetensorsWriteOptions['dtype']): StoredDtype {
  if (t.dtype === 'int32' && typeof choice !== 'function') return 'I32';
  const dtype = typeof choice === 'function' ? choice(name) : choice ?? 'F32';
  if ((dtype === 'I32') !== (t.dtype === 'int32')) {
    throw new WeightsError(`tensor "${name}": cannot store a ${t.dtype} tensor as ${dtype}`);
  }
  return dtype;
}

function encode(t: HostTensor, dtype: StoredDtype): Uint8Array {
  const src = t.data;
  if (dtype === 'F32' || dtype === 'I32') return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  const convert = dtype === 'F16' ? floatBitsToHalf : floatBitsToBf16;
  for (let i = 0; i < out.length; i++) out[i] = convert(bits[i]!);
  return new Uint8Array(out.buffer);
}
