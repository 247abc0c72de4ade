/**
 * The host driver's own guarantees, with small kernels written for the purpose: it runs a
 * grid exactly as given (every (block, thread) once, barriers honoured), reads arguments back
 * from the packed `void**` as a GPU would, and refuses what a GPU would silently get wrong —
 * launches outside CUDA's limits, pointers into freed memory, writes past an allocation,
 * divergent or undeclared __syncthreads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostDriver } from '../../../src/backend/cuda/host/host-driver.js';
import { packParams, type KernelSource } from '../../../src/backend/cuda/kernel-source.js';

const KERNELS: KernelSource[] = [
  {
    name: 'who',
    params: 'int* out, int stride',
    body: 'int t = (blockIdx.y * gridDim.x + blockIdx.x) * (blockDim.x * blockDim.y) + threadIdx.y * blockDim.x + threadIdx.x; out[t] = t * stride + (int)threadIdx.x;',
  },
  {
    name: 'scalars',
    params: 'float* out, float a, int b, unsigned c, Dims d',
    body: 'if (threadIdx.x == 0) { out[0] = a; out[1] = (float)b; out[2] = (float)c; for (int i = 0; i < 6; i++) out[3 + i] = (float)d.d[i]; }',
  },
  {
    name: 'reverse_block',
    params: 'int* out, const int* in',
    barrier: true,
    body: `__shared__ int s[256];
  s[threadIdx.x] = in[blockIdx.x * blockDim.x + threadIdx.x];
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = s[blockDim.x - 1 - threadIdx.x];`,
  },
  { name: 'divergent', params: 'int* out', barrier: true, body: 'if (threadIdx.x == 0) return; __syncthreads(); out[threadIdx.x] = 1;' },
  { name: 'undeclared', params: 'int* out', body: '__syncthreads(); out[threadIdx.x] = 1;' },
  { name: 'overrun', params: 'int* out, int n', body: 'out[n] = 7;' },
];

const driver = new HostDriver({ kernels: KERNELS });
const k = (name: string) => KERNELS.find((x) => x.name === name)!;

function read(ptr: number, n: number): number[] {
  const out = new Int32Array(n);
  driver.download(out, ptr);
  return Array.from(out);
}

describe('host driver', () => {
  it('runs every thread of a 2-D grid of 2-D blocks once, with its own indices', () => {
    const ptr = driver.alloc(4 * 3 * 2 * 8);
    driver.launch('who', [3, 2, 1], [4, 2, 1], packParams(k('who'), [ptr, 10]));
    const expected = Array.from({ length: 48 }, (_, t) => t * 10 + (t % 4));
    assert.deepEqual(read(ptr, 48), expected);
    driver.free(ptr);
  });

  it('reads float, int, unsigned and Dims arguments as packed', () => {
    const ptr = driver.alloc(4 * 9);
    driver.launch('scalars', [1, 1, 1], [1, 1, 1], packParams(k('scalars'), [ptr, 2.5, -7, 4000000000, [1, 2, 3]]));
    const out = new Float32Array(9);
    driver.download(out, ptr);
    assert.deepEqual(Array.from(out), [2.5, -7, 4000000000, 1, 2, 3, 0, 0, 0]);
    driver.free(ptr);
  });

  it('meets at __syncthreads: a block reverses itself through shared memory', () => {
    const n = 2 * 64;
    const input = driver.alloc(4 * n);
    const output = driver.alloc(4 * n);
    const staged = driver.stagedUploads;
    driver.upload(input, Int32Array.from({ length: n }, (_, i) => i));
    assert.equal(driver.stagedUploads, staged + 1, 'a small upload goes through the staging ring');
    driver.launch('reverse_block', [2, 1, 1], [64, 1, 1], packParams(k('reverse_block'), [output, input]));
    assert.deepEqual(read(output, n), [...Array.from({ length: 64 }, (_, i) => 63 - i), ...Array.from({ length: 64 }, (_, i) => 127 - i)]);
    driver.free(input);
    driver.free(output);
  });

  it('refuses a divergent barrier and a barrier in a kernel not declared to have one', () => {
    const ptr = driver.alloc(4 * 32);
    assert.throws(() => driver.launch('divergent', [1, 1, 1], [32, 1, 1], packParams(k('divergent'), [ptr])), /divergent __syncthreads/);
    assert.throws(() => driver.launch('undeclared', [1, 1, 1], [32, 1, 1], packParams(k('undeclared'), [ptr])), /not declared `barrier`/);
    driver.free(ptr);
  });

  it('refuses launches outside CUDA limits', () => {
    const ptr = driver.alloc(4);
    assert.throws(() => driver.launch('who', [1, 1, 1], [2048, 1, 1], packParams(k('who'), [ptr, 1])), /outside CUDA's limits/);
    assert.throws(() => driver.launch('who', [1, 70000, 1], [1, 1, 1], packParams(k('who'), [ptr, 1])), /outside CUDA's limits/);
    assert.throws(() => driver.launch('who', [0, 1, 1], [1, 1, 1], packParams(k('who'), [ptr, 1])), /outside CUDA's limits/);
    driver.free(ptr);
  });

  it('catches a write past the end of an allocation', () => {
    const ptr = driver.alloc(4 * 8);
    assert.throws(() => driver.launch('overrun', [1, 1, 1], [1, 1, 1], packParams(k('overrun'), [ptr, 8])), /wrote past the end of the allocation/);
  });

  it('catches use after free and double free', () => {
    const ptr = driver.alloc(16);
    driver.free(ptr);
    assert.throws(() => driver.launch('who', [1, 1, 1], [1, 1, 1], packParams(k('who'), [ptr, 1])), /points at no live allocation/);
    assert.throws(() => driver.download(new Int32Array(4), ptr), /points at no live allocation/);
    assert.throws(() => driver.free(ptr), /not a live allocation/);
  });

  it('computes SGEMM with cuBLAS semantics and refuses bad leading dimensions', () => {
    // Column-major A (2×3), B (3×2): C = A·B.
    const a = driver.alloc(4 * 6);
    const b = driver.alloc(4 * 6);
    const c = driver.alloc(4 * 4);
    driver.upload(a, Float32Array.from([1, 4, 2, 5, 3, 6]));
    driver.upload(b, Float32Array.from([7, 9, 11, 8, 10, 12]));
    const call = { transA: false, transB: false, m: 2, n: 2, k: 3, alpha: 1, a, lda: 2, strideA: 0, b, ldb: 3, strideB: 0, beta: 0, c, ldc: 2, strideC: 4, batch: 1 };
    driver.gemm(call);
    const out = new Float32Array(4);
    driver.download(out, c);
    assert.deepEqual(Array.from(out), [58, 139, 64, 154]);
    assert.throws(() => driver.gemm({ ...call, lda: 1 }), /refused its arguments/);
    for (const p of [a, b, c]) driver.free(p);
  });

  it('packs arguments exactly and refuses values that do not fit', () => {
    const [ptr, f, i, u, d] = packParams(k('scalars'), [0x7fff12345678, 1.5, -2, 3, [4, 5]]);
    assert.equal(ptr!.readBigUInt64LE(), 0x7fff12345678n);
    assert.equal(f!.readFloatLE(), 1.5);
    assert.equal(i!.readInt32LE(), -2);
    assert.equal(u!.readUInt32LE(), 3);
    assert.deepEqual([...new Int32Array(d!.buffer, d!.byteOffset, 6)], [4, 5, 0, 0, 0, 0]);
    assert.throws(() => packParams(k('scalars'), [0, 1, 2 ** 31, 0, []]), /does not fit a 32-bit int/);
    assert.throws(() => packParams(k('scalars'), [0, 1, 2]), /takes 5 arguments/);
    assert.throws(() => packParams(k('scalars'), [0, 1, 2, 3, [1, 2, 3, 4, 5, 6, 7]]), /at most 6 ints/);
  });

  it('leaves nothing allocated', () => {
    assert.equal(driver.allocations, 1, 'only the allocation the overrun test left (its guard was broken on purpose)');
  });
});
