import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadBlas } from '../../../src/backend/blas/openblas.js';

const CHILD = new URL('./select-child.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'blas-fallback-'));
after(() => rmSync(root, { recursive: true, force: true }));

type Line = Record<string, unknown> & { msg: string; level?: string };

function runChild(blasLib: string): Line[] {
  const env: NodeJS.ProcessEnv = { ...process.env, INSTRUCTUE_BLAS_LIB: blasLib, INSTRUCTUE_LOG_LEVEL: 'info' };
  delete env.OPENBLAS_NUM_THREADS;
  const run = spawnSync(process.execPath, [CHILD], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
}

// a·bᵀ for each batch of b, by hand: rows of a against rows of b[i].
const EXPECTED = { shape: [2, 2, 2], values: [7, 5, 16, 11, 6, 8, 18, 17] };

describe('BLAS discovery and fallback (fresh processes)', () => {
  it('falls back to the built-in kernel with one warning naming the variable, the failure and the fix', () => {
    const bogus = join(root, 'libopenblas.so.0');
    writeFileSync(bogus, 'not a shared library');
    const lines = runChild(bogus);
    const warnings = lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.equal(warnings[0]!.msg, 'no BLAS found: wasm matmuls use the built-in kernel');
    const reason = String(warnings[0]!.reason);
    assert.match(reason, /^OpenBLAS not found \(looked for libopenblas\.so\.0, .* in: .*\(INSTRUCTUE_BLAS_LIB\).*failed to load .*libopenblas\.so\.0: .*apt-get install libopenblas0-pthread/s);
    assert.ok(reason.includes(bogus));
    // The system search was off: neither the linker cache nor the system folders were searched.
    assert.ok(!reason.includes('ldconfig') && !reason.includes('/usr/lib/x86_64-linux-gnu (') && !reason.includes('/usr/lib/x86_64-linux-gnu;'), reason);
    const selected = lines.filter((l) => l.msg === 'backend selected');
    assert.deepEqual(selected.map((l) => l.blas), [{ active: false, reason: 'not found' }, { active: false, reason: 'not found' }]);
    assert.deepEqual(lines.at(-1), { msg: 'result', active: false, ...EXPECTED });
  });

  it('loads the library INSTRUCTUE_BLAS_LIB names, without a warning', () => {
    const real = loadBlas().found.path;
    const lines = runChild(real);
    assert.deepEqual(lines.filter((l) => l.level === 'warn'), []);
    const blas = lines.find((l) => l.msg === 'backend selected')!.blas as Record<string, unknown>;
    assert.equal(blas.active, true);
    assert.equal(blas.library, real);
    assert.deepEqual(lines.at(-1), { msg: 'result', active: true, ...EXPECTED });
  });

  it('INSTRUCTUE_BLAS_LIB=none keeps the built-in kernel, quietly', () => {
    const lines = runChild('none');
    assert.deepEqual(lines.filter((l) => l.level === 'warn'), []);
    assert.deepEqual(lines.find((l) => l.msg === 'backend selected')!.blas, { active: false, reason: 'INSTRUCTUE_BLAS_LIB=none' });
    assert.deepEqual(lines.at(-1), { msg: 'result', active: false, ...EXPECTED });
  });
});
