/**
 * The rank-side pieces of an all-reduce, each timed alone in this process (no network): what a
 * rank spends per MiB to encode frames, parse them off a socket, fold them, copy results into
 * place, and what the allocations we avoid would cost. The other half of the profile — kernel
 * socket work and the nats-server — is per-process CPU in `bench/allreduce.ts --profile`.
 *
 *   node dist/bench/collective-phases.js [--mib 64] [--frame 1048576] [--reps 7]
 */
import { parseArgs } from 'node:util';
import { roundToBf16InPlace } from '../src/collectives/bf16.js';
import { CHUNK_HEADER_BYTES, chunkValues, decodeChunkHeader, encodeChunk, readChunkValues } from '../src/collectives/chunk-frame.js';
import { FramePool } from '../src/collectives/frame-pool.js';
import type { ChunkHeader, WireDtype } from '../src/protocol/messages.js';
import { NatsWireParser } from '../src/transport/nats-wire-parser.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '64' }, frame: { type: 'string', default: String(1 << 20) }, reps: { type: 'string', default: '7' } } });
const MiB = 1 << 20;
const mib = Number(values.mib);
const frameBytes = Number(values.frame);
const reps = Number(values.reps);
const n = (mib * MiB) / 4;

/** Median ms per MiB of `fn` over `reps` runs (after one warm-up). */
function perMiB(fn: () => void): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return (times[Math.floor(times.length / 2)] as number) / mib;
}

const source = new Float32Array(n).map((_, i) => ((i % 64) - 32) / 64);
const target = new Float32Array(n);
const header = (dtype: WireDtype, offset: number, count: number): ChunkHeader => ({
  phase: 'reduce-scatter', dtype, jobHash: 1, epoch: 1, step: 1, opHash: 2, seq: 0, totalChunks: 1, sourceRank: 1, elemOffset: offset, elemCount: count, totalElems: n,
});
const ranges = (dtype: WireDtype) => {
  const per = Math.floor((frameBytes - CHUNK_HEADER_BYTES) / (dtype === 'bf16' ? 2 : 4));
  const out: Array<[number, number]> = [];
  for (let o = 0; o < n; o += per) out.push([o, Math.min(per, n - o)]);
  return out;
};

const rows: Array<[string, number]> = [];
const pool = new FramePool(frameBytes, 1 << 12);
for (const dtype of ['float32', 'bf16'] as const) {
  const plan = ranges(dtype);
  const frames = plan.map(([o, c]) => encodeChunk(header(dtype, o, c), source, o));
  rows.push([`encode ${dtype} into pooled frames`, perMiB(() => {
    const made = plan.map(([o, c]) => encodeChunk(header(dtype, o, c), source, o, pool.acquire(CHUNK_HEADER_BYTES + c * (dtype === 'bf16' ? 2 : 4))));
    for (const f of made) pool.release(f);
  })]);
  if (dtype === 'float32') rows.push(['encode float32 into new frames (what the pool avoids)', perMiB(() => void plan.map(([o, c]) => encodeChunk(header(dtype, o, c), source, o)))]);
  const scratch = new Float32Array(plan[0]![1]);
  rows.push([`reduce ${dtype}: decode + add into the sum`, perMiB(() => {
    for (const f of frames) {
      const h = decodeChunkHeader(f);
      const v = chunkValues(f, h, scratch);
      const t = target.subarray(h.elemOffset, h.elemOffset + h.elemCount);
      for (let i = 0; i < t.length; i++) t[i] = (t[i] as number) + (v[i] as number);
    }
  })]);
  rows.push([`copy ${dtype}: result chunk into place`, perMiB(() => {
    for (const f of frames) {
      const h = decodeChunkHeader(f);
      readChunkValues(f, h, target, h.elemOffset);
    }
  })]);
}
// Misaligned payloads (as a socket hands them out) go through the scratch copy.
{
  const plan = ranges('float32');
  const shifted = plan.map(([o, c]) => {
    const f = encodeChunk(header('float32', o, c), source, o);
    const buf = new Uint8Array(f.byteLength + 1);
    buf.set(f, 1);
    return buf.subarray(1);
  });
  const scratch = new Float32Array(plan[0]![1]);
  rows.push(['reduce float32, payload not 4-byte aligned (scratch copy + add)', perMiB(() => {
    for (const f of shifted) {
      const h = decodeChunkHeader(f);
      const v = chunkValues(f, h, scratch);
      const t = target.subarray(h.elemOffset, h.elemOffset + h.elemCount);
      for (let i = 0; i < t.length; i++) t[i] = (t[i] as number) + (v[i] as number);
    }
  })]);
}
rows.push(['bf16 rounding of float32 values in place', perMiB(() => void roundToBf16InPlace(target))]);
rows.push(['a fresh result array, filled (first-touch page faults; in place avoids it)', perMiB(() => void new Float32Array(n).fill(1))]);
rows.push(['memcpy into an existing array (the floor of any copy)', perMiB(() => target.set(source))]);

// The wire client's receive path: a socket stream of MSG frames parsed out of the arena.
{
  const payload = new Uint8Array(frameBytes);
  const head = Buffer.from(`MSG bench.e1.c.grads.to.0 1 ${frameBytes}\r\n`);
  const one = Buffer.concat([head, payload, Buffer.from('\r\n')]);
  const stream = Buffer.concat(Array.from({ length: Math.ceil((mib * MiB) / frameBytes) }, () => one));
  let got = 0;
  const parser = new NatsWireParser({ msg: (_s, _sub, _r, data) => void (got += data.length), info: () => undefined, ping: () => undefined, pong: () => undefined, err: () => undefined }, 4 * MiB);
  rows.push(['NatsWireTransport parse (64 KiB reads into the arena, borrowed views)', perMiB(() => {
    for (let o = 0; o < stream.length; ) {
      const b = parser.nextReadBuffer();
      const k = Math.min(b.length, stream.length - o, 64 * 1024);
      stream.copy(b, 0, o, o + k);
      o += k;
      parser.wrote(k);
    }
  })]);
  if (got === 0) throw new Error('parser delivered nothing');
}

console.log(`${new Date().toISOString()}; ${mib} MiB vector, ${frameBytes} B frames; median of ${reps}; ms per MiB of data handled`);
console.log('| step | ms/MiB |');
console.log('|---|---:|');
for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(3)} |`);
