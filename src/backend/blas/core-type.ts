/**
 * @module backend/blas/core-type
 * OpenBLAS picks its kernels from the CPU model at load time, and a CPU newer than the library
 * (or one a hypervisor disguises) gets the generic "Prescott" kernels: on this project's 2-core
 * machines (Zen 5 behind Firecracker) Debian's OpenBLAS 0.3.21 then runs sgemm at ~33 GFLOP/s
 * on one thread, against ~80 with the Haswell kernels and ~140 with the SkylakeX (AVX-512) ones
 * (bench figures in the README). The choice can only be made before the library loads, through
 * `OPENBLAS_CORETYPE`; so when the user has not set it, we set it from the CPU's instruction-set
 * flags: AVX-512 (F, BW, DQ, VL) → SkylakeX, AVX2 + FMA → Haswell, else leave OpenBLAS's own
 * choice. These are the kernels OpenBLAS itself runs on the CPUs it knows with those features
 * (its Zen type uses the Haswell kernels).
 */
import { readFileSync } from 'node:fs';

/** The instruction-set flags of the first CPU in /proc/cpuinfo (empty where unreadable). */
export function cpuFlags(cpuinfo?: string): Set<string> {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return new Set();
    }
  }
  const line = /^flags\s*:(.*)$/m.exec(text);
  return new Set((line?.[1] ?? '').trim().split(/\s+/).filter(Boolean));
}

/** The OpenBLAS core type for these flags, or null to leave OpenBLAS's own detection. */
export function coreTypeFor(flags: Set<string>): string | null {
  if (['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f))) return 'SkylakeX';
  if (flags.has('avx2') && flags.has('fma')) return 'Haswell';
  return null;
}

/**
 * Sets `OPENBLAS_CORETYPE` in this process's environment (the one the library reads when it
 * loads; child processes inherit it) unless the user set it; returns the value in force and
 * where it came from.
 */
export function ensureCoreType(flags: Set<string> = cpuFlags()): { coreType: string | null; from: string } {
  const set = process.env.OPENBLAS_CORETYPE;
  if (set) return { coreType: set, from: 'OPENBLAS_CORETYPE' };
  const coreType = coreTypeFor(flags);
  if (coreType === null) return { coreType: null, from: 'OpenBLAS detection' };
  // process.env assignments reach the C environment (setenv), where OpenBLAS's loader reads it.
  process.env.OPENBLAS_CORETYPE = coreType;
  return { coreType, from: 'cpu flags' };
}
