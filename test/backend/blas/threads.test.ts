import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { before, describe, it } from 'node:test';
import { coreTypeFor, cpuFlags } from '../../../src/backend/blas/core-type.js';
import { installBlas } from '../../../src/backend/blas/install.js';
import { chooseBlasThreads } from '../../../src/backend/blas/threads.js';
import { selectBackend } from '../../../src/backend/select.js';
import { silentLogger } from '../../../src/log.js';

describe('BLAS threads per process', () => {
  it('are cores / local workers, at least 1; blas_threads overrides; OPENBLAS_NUM_THREADS is left alone', () => {
    assert.deepEqual(chooseBlasThreads(0, {}, 16), { threads: 16, reason: '16 cores / 1 local worker' });
    assert.deepEqual(chooseBlasThreads(0, { INSTRUCTUE_LOCAL_WORKERS: '4' }, 16), { threads: 4, reason: '16 cores / 4 local workers' });
    assert.deepEqual(chooseBlasThreads(0, { INSTRUCTUE_LOCAL_WORKERS: '3' }, 2), { threads: 1, reason: '2 cores / 3 local workers' });
    assert.deepEqual(chooseBlasThreads(0, { INSTRUCTUE_LOCAL_WORKERS: 'x' }, 2), { threads: 2, reason: '2 cores / 1 local worker' });
    assert.deepEqual(chooseBlasThreads(3, { INSTRUCTUE_LOCAL_WORKERS: '4', OPENBLAS_NUM_THREADS: '1' }, 2), { threads: 3, reason: 'blas_threads' });
    assert.deepEqual(chooseBlasThreads(0, { OPENBLAS_NUM_THREADS: '1' }, 2), { threads: null, reason: 'OPENBLAS_NUM_THREADS' });
  });

  describe('on the loaded OpenBLAS', () => {
    before(() => selectBackend('wasm', silentLogger));
    it('are set in the library', () => {
      assert.equal(installBlas(silentLogger, { threads: 1, env: {} }).threads, 1);
      const two = installBlas(silentLogger, { env: { INSTRUCTUE_LOCAL_WORKERS: '2' } });
      assert.equal(two.threads, Math.max(1, Math.floor(availableParallelism() / 2)));
      assert.equal(installBlas(silentLogger, { env: {} }).threads, availableParallelism());
    });
  });
});

describe('OpenBLAS core type', () => {
  it('follows the instruction-set flags: AVX-512 → SkylakeX, AVX2+FMA → Haswell, else OpenBLAS decides', () => {
    const flags = (line: string) => cpuFlags(`processor\t: 0\nflags\t\t: ${line}\nbugs\t\t: spectre\n\nprocessor\t: 1\nflags\t\t: sse\n`);
    assert.deepEqual([...flags('fpu sse2 avx2 fma')], ['fpu', 'sse2', 'avx2', 'fma']);
    assert.equal(coreTypeFor(flags('sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl')), 'SkylakeX');
    assert.equal(coreTypeFor(flags('sse2 avx avx2 fma avx512f')), 'Haswell');
    assert.equal(coreTypeFor(flags('sse2 avx avx2')), null);
    assert.equal(coreTypeFor(cpuFlags('no flags line')), null);
  });
});
