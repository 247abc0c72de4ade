/**
 * @module backend/cuda/host/build
 * Builds the host driver's shared library: HOST_PRELUDE, the very module text NVRTC compiles
 * for the device (`moduleSource`), one trampoline per kernel that reads its arguments back out
 * of a `void**` exactly as the GPU would (`*(T*)params[i]`), the entry table, and HOST_RUNTIME.
 * Compiled with g++ (`CXX` to override) into the kernel cache, keyed by that text and
 * the compiler's version.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendError } from '../../../errors.js';
import { cacheKey, cachedPath, kernelCacheDir, writeCached } from '../kernel-cache.js';
import { moduleSource, paramSpecs, type KernelSource } from '../kernel-source.js';
import { HOST_PRELUDE, HOST_RUNTIME } from './prelude.js';

const FLAGS = ['-O2', '-std=c++17', '-shared', '-fPIC', '-fno-strict-aliasing', '-w'];

/** The complete C++ translation unit for `kernels`. */
export function hostSource(kernels: readonly KernelSource[]): string {
  const trampolines = kernels.map((k) => {
    const args = paramSpecs(k.params).map((p, i) => `*(${p.ctype}*)p[${i}]`);
    return `static void t_${k.name}(void** p) { ${k.name}(${args.join(', ')}); }`;
  });
  const entries = kernels.map((k) => `  { "${k.name}", t_${k.name}, ${k.barrier ? 1 : 0} },`);
  return [HOST_PRELUDE, moduleSource(kernels), ...trampolines, 'static const Entry ENTRIES[] = {', ...entries, '};', HOST_RUNTIME].join('\n');
}

export function compilerVersion(cxx: string): string {
  try {
    return execFileSync(cxx, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!.trim();
  } catch (err) {
    throw new BackendError(`the cuda host driver compiles its kernels with ${cxx}, which did not run (${(err as Error).message.split('\n')[0]}); install g++ (apt-get install g++) or set CXX`, { cause: err });
  }
}

/** Path of the shared library for `kernels`, compiling it unless cached. */
export function buildHostLibrary(kernels: readonly KernelSource[], cacheDir = '', cxx = process.env.CXX || 'g++'): { path: string; compiler: string } {
  const compiler = compilerVersion(cxx);
  const source = hostSource(kernels);
  const dir = kernelCacheDir(cacheDir);
  const key = cacheKey(['host', compiler, FLAGS.join(' '), source]);
  const path = cachedPath(dir, key, '.so');
  if (existsSync(path)) return { path, compiler };
  const work = mkdtempSync(join(tmpdir(), 'instructue-host-kernels-'));
  try {
    const cpp = join(work, 'kernels.cpp');
    const so = join(work, 'kernels.so');
    writeFileSync(cpp, source);
    try {
      execFileSync(cxx, [...FLAGS, '-o', so, cpp], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new BackendError(`compiling the cuda kernels for the host driver failed:\n${stderr.split('\n').slice(0, 30).join('\n')}`);
    }
    return { path: writeCached(dir, key, '.so', readFileSync(so)), compiler };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
