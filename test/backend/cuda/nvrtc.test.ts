/**
 * Every cuda kernel source compiles with NVRTC — the same module the device driver loads —
 * for sm_80 (A100) and the newest arch this NVRTC knows (sm_90 with Debian's CUDA 11.8 NVRTC,
 * libnvrtc11.2, installed by scripts/setup.sh --with-test-tools). On a GPU machine the driver
 * compiles for the device's own sm with the device's NVRTC; this test is the CI guarantee that
 * the CUDA C (not only its host C++ reading) is valid and exports every kernel unmangled.
 * Without NVRTC the test is skipped and says why.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { moduleSource } from '../../../src/backend/cuda/kernel-source.js';
import { Nvrtc } from '../../../src/backend/cuda/nvrtc.js';
import { allKernelSources } from '../../../src/backend/cuda/registry.js';

let nvrtc: Nvrtc | null = null;
let skip: string | false = false;
try {
  nvrtc = new Nvrtc();
} catch (err) {
  skip = `NVRTC is not installed here (${(err as Error).message.split('\n')[0]}); ./scripts/setup.sh --with-test-tools installs Debian's libnvrtc11.2`;
}

describe('NVRTC compiles every cuda kernel', { skip }, () => {
  const cache = mkdtempSync(join(tmpdir(), 'instructue-nvrtc-test-'));
  after(() => rmSync(cache, { recursive: true, force: true }));
  const kernels = allKernelSources();
  const source = moduleSource(kernels);

  const newest = () => Math.max(...nvrtc!.archs);
  for (const arch of [80, 'newest'] as const) {
    it(`to a CUBIN for sm_${arch}`, (t) => {
      const a = arch === 'newest' ? newest() : arch;
      if (!nvrtc!.archs.includes(a)) return t.skip(`NVRTC ${nvrtc!.version} does not know sm_${a}`);
      t.diagnostic(`NVRTC ${nvrtc!.version} (${nvrtc!.path}), newest arch ${newest()}`);
      const m = nvrtc!.compile(source, `sm_${a}`, 'instructue_kernels.cu', cache);
      assert.equal(m.kind, 'cubin');
      assert.equal(m.fromCache, false);
      assert.deepEqual([...m.image.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], 'an ELF image');
      const text = m.image.toString('latin1');
      assert.deepEqual(kernels.filter((k) => !text.includes(`${k.name}\0`)).map((k) => k.name), [], 'every kernel is a symbol of the CUBIN');
      assert.equal(nvrtc!.compile(source, `sm_${a}`, 'instructue_kernels.cu', cache).fromCache, true, 'the second compile comes from the disk cache');
    });
  }

  it('to PTX with one unmangled .entry per kernel', () => {
    const m = nvrtc!.compile(source, 'compute_80', 'instructue_kernels.cu', cache);
    assert.equal(m.kind, 'ptx');
    const entries = [...m.image.toString('utf8').matchAll(/\.entry\s+(\w+)\(/g)].map((x) => x[1]!).sort();
    assert.deepEqual(entries, kernels.map((k) => k.name).sort());
  });

  it('a broken kernel fails with NVRTC\'s log', () => {
    const broken = moduleSource([{ name: 'broken', params: 'float* out', body: 'out[0] = undefined_thing;' }]);
    assert.throws(() => nvrtc!.compile(broken, 'compute_80', 'broken.cu', cache), /could not compile[\s\S]*undefined_thing/);
  });
});
