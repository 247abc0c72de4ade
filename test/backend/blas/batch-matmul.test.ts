import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { blasMatMulActive, installBlas } from '../../../src/backend/blas/install.js';
import { selectBackend } from '../../../src/backend/select.js';
import { tf } from '../../../src/backend/tf.js';
import { createLogger, silentLogger } from '../../../src/log.js';
import { Rng } from '../../../src/util/rng.js';

/** [a shape, b shape, transposeA, transposeB]. */
type Case = [number[], number[], boolean, boolean];

const flags = [[false, false], [false, true], [true, false], [true, true]] as const;
/** Shapes as stored for an op(A)[m,k]·op(B)[k,n] with the given flags and leading axes. */
const shapes = (leadA: number[], leadB: number[], m: number, k: number, n: number, ta: boolean, tb: boolean): Case => [
  [...leadA, ...(ta ? [k, m] : [m, k])], [...leadB, ...(tb ? [n, k] : [k, n])], ta, tb,
];

// Odd sizes (not multiples of any SIMD width or BLAS block), and sizes past OpenBLAS's blocking.
const sameBatch: Case[] = flags.flatMap(([ta, tb]) => [
  shapes([], [], 7, 13, 5, ta, tb),
  shapes([], [], 1, 1, 1, ta, tb),
  shapes([], [], 131, 67, 259, ta, tb),
  shapes([3], [3], 9, 17, 11, ta, tb),
  shapes([2, 3], [2, 3], 5, 33, 7, ta, tb),
  // b shared by every batch (the folded single-GEMM path when a is not transposed)
  shapes([4], [], 6, 10, 3, ta, tb),
  shapes([2, 3], [1], 5, 4, 6, ta, tb),
  // a shared by every batch
  shapes([], [4], 6, 10, 3, ta, tb),
]);
// Broadcasts that tfjs's own kernels (wasm and cpu) get wrong: they pair flattened batches
// (batch i of a with batch i mod |b|). Checked against the float64 reference and against the
// cpu backend on operands broadcast to the full leading shape first.
const broadcasts: Case[] = flags.flatMap(([ta, tb]) => [shapes([2, 1], [1, 3], 4, 5, 6, ta, tb), shapes([3, 1, 2], [4, 1], 3, 7, 2, ta, tb)]);
const empty: Case[] = [
  shapes([], [], 0, 4, 3, false, false),
  shapes([], [], 3, 4, 0, false, true),
  shapes([], [], 3, 0, 5, false, false),
  shapes([2], [2], 3, 0, 5, true, true),
  shapes([0], [0], 3, 4, 5, false, false),
  shapes([0, 2], [2], 3, 4, 5, true, false),
];

/** The numpy broadcast of two leading shapes, both padded to one rank. */
function broadcastLead(la: number[], lb: number[]): { pa: number[]; pb: number[]; lead: number[] } {
  const rank = Math.max(la.length, lb.length);
  const pa = [...new Array<number>(rank - la.length).fill(1), ...la];
  const pb = [...new Array<number>(rank - lb.length).fill(1), ...lb];
  return { pa, pb, lead: pa.map((d, i) => (d === 1 ? pb[i]! : d)) };
}

/** op(A)·op(B) with broadcast leading axes in float64: the reference. */
function reference(a: Float32Array, b: Float32Array, [sa, sb, ta, tb]: Case): { shape: number[]; values: Float64Array } {
  const m = ta ? sa.at(-1)! : sa.at(-2)!;
  const k = ta ? sa.at(-2)! : sa.at(-1)!;
  const n = tb ? sb.at(-2)! : sb.at(-1)!;
  const { pa, pb, lead } = broadcastLead(sa.slice(0, -2), sb.slice(0, -2));
  const rank = lead.length;
  const batches = lead.reduce((p, d) => p * d, 1);
  const values = new Float64Array(batches * m * n);
  for (let i = 0; i < batches; i++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0, rest = i, span = batches; d < rank; d++) {
      span /= lead[d]!;
      const c = Math.floor(rest / span);
      rest -= c * span;
      ia = ia * pa[d]! + (pa[d] === 1 ? 0 : c);
      ib = ib * pb[d]! + (pb[d] === 1 ? 0 : c);
    }
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let sum = 0;
        for (let j = 0; j < k; j++) {
          const x = a[ia * m * k + (ta ? j * m + r : r * k + j)]!;
          const y = b[ib * k * n + (tb ? c * k + j : j * n + c)]!;
          sum += x * y;
        }
        values[(i * m + r) * n + c] = sum;
      }
    }
  }
  return { shape: [...lead, m, n], values };
}

/** max |x − ref| relative to max |ref| (1 for an all-zero reference, so zeros must be exact). */
function relativeError(actual: ArrayLike<number>, ref: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / (scale || 1);
}

const label = ([sa, sb, ta, tb]: Case) => `[${sa}]${ta ? 'ᵀ' : ''}·[${sb}]${tb ? 'ᵀ' : ''}`;

function inputs(c: Case, seed: string): [tf.Tensor, tf.Tensor] {
  const rng = new Rng(seed);
  const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
  return [tf.tensor(rng.normalArray(size(c[0]), 1), c[0]), tf.tensor(rng.normalArray(size(c[1]), 1), c[1])];
}

/** Runs `matMul` with the wasm matmul on BLAS (true) or the built-in kernel (false). */
function product(c: Case, blas: boolean): { shape: number[]; values: Float32Array } {
  installBlas(silentLogger, { enabled: blas });
  assert.equal(blasMatMulActive(), blas);
  const [a, b] = inputs(c, label(c));
  const y = tf.matMul(a, b, c[2], c[3]);
  const out = { shape: y.shape, values: y.dataSync() as Float32Array };
  tf.dispose([a, b, y]);
  return out;
}

describe('BLAS BatchMatMul on wasm', () => {
  before(async () => {
    const lines: Record<string, unknown>[] = [];
    await selectBackend('wasm', createLogger({}, { write: (l) => lines.push(JSON.parse(l)) }));
    const selected = lines.find((l) => l.msg === 'backend selected');
    // The machine has OpenBLAS (scripts/setup.sh installs libopenblas0-pthread).
    assert.equal((selected?.blas as { active: boolean } | undefined)?.active, true, `BLAS not loaded: ${JSON.stringify(lines)}`);
  });

  it('matches the float64 reference and the built-in kernel to 1e-5 (transposes, batches, shared operands, odd sizes)', () => {
    for (const c of sameBatch) {
      const [a, b] = inputs(c, label(c));
      const ref = reference(a.dataSync() as Float32Array, b.dataSync() as Float32Array, c);
      tf.dispose([a, b]);
      const blas = product(c, true);
      const builtin = product(c, false);
      assert.deepEqual(blas.shape, ref.shape, label(c));
      assert.deepEqual(builtin.shape, ref.shape, label(c));
      const errRef = relativeError(blas.values, ref.values);
      const errBuiltin = relativeError(blas.values, builtin.values);
      assert.ok(errRef <= 1e-5 && errBuiltin <= 1e-5, `${label(c)}: ${errRef} vs reference, ${errBuiltin} vs built-in`);
    }
  });

  it('broadcasts leading axes numpy-style (as the op\'s output shape says)', async () => {
    const cpu: Float32Array[] = [];
    await selectBackend('cpu', silentLogger);
    for (const c of broadcasts) {
      const [a, b] = inputs(c, label(c));
      const { lead } = broadcastLead(c[0].slice(0, -2), c[1].slice(0, -2));
      const full = (t: tf.Tensor) => tf.broadcastTo(t, [...lead, ...t.shape.slice(-2)]);
      cpu.push(tf.tidy(() => tf.matMul(full(a), full(b), c[2], c[3]).dataSync() as Float32Array));
      tf.dispose([a, b]);
    }
    await selectBackend('wasm', silentLogger);
    broadcasts.forEach((c, i) => {
      const [a, b] = inputs(c, label(c));
      const ref = reference(a.dataSync() as Float32Array, b.dataSync() as Float32Array, c);
      tf.dispose([a, b]);
      const blas = product(c, true);
      assert.deepEqual(blas.shape, ref.shape, label(c));
      assert.ok(relativeError(blas.values, ref.values) <= 1e-5, `${label(c)} vs reference`);
      assert.ok(relativeError(blas.values, cpu[i]!) <= 1e-5, `${label(c)} vs cpu on broadcast operands`);
    });
  });

  it('gives empty and all-zero products for zero-size operands', () => {
    for (const c of empty) {
      const ref = reference(new Float32Array(0), new Float32Array(0), c);
      const blas = product(c, true);
      assert.deepEqual(blas.shape, ref.shape, label(c));
      assert.deepEqual(Array.from(blas.values), Array.from(ref.values), label(c));
    }
  });

  it('rejects mismatched inner sizes and non-float inputs with tfjs\'s messages', () => {
    installBlas(silentLogger);
    const a = tf.ones([2, 3]);
    const b = tf.ones([4, 5]);
    assert.throws(() => tf.matMul(a, b), /inner shapes \(3\) and \(4\)/);
    const i = tf.ones([2, 2], 'int32');
    assert.throws(() => tf.matMul(i, i), /non-float32/);
    tf.dispose([a, b, i]);
  });

  it('gives the built-in kernel\'s gradients of a batched attention-like product, leaving no tensors', () => {
    const [q, k] = inputs([[2, 3, 9, 4], [2, 3, 11, 4], false, true], 'grad');
    const w = tf.tensor(new Rng('w').normalArray(2 * 3 * 9 * 11, 1), [2, 3, 9, 11]);
    const grads = (blas: boolean) => {
      installBlas(silentLogger, { enabled: blas });
      const before = tf.memory().numTensors;
      const [gq, gk] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, false, true), w)))([q, k]);
      const out = [gq!.dataSync() as Float32Array, gk!.dataSync() as Float32Array];
      tf.dispose([gq!, gk!]);
      assert.equal(tf.memory().numTensors, before);
      return out;
    };
    const [bq, bk] = grads(true);
    const [wq, wk] = grads(false);
    assert.ok(relativeError(bq!, wq!) <= 1e-5 && relativeError(bk!, wk!) <= 1e-5);
    tf.dispose([q, k, w]);
    installBlas(silentLogger);
  });
});
