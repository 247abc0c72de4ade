/**
 * @module backend/cuda/kernel-cache
 * The on-disk cache of compiled kernel modules (NVRTC CUBINs for the device, g++ shared
 * libraries for the host driver), keyed by a sha256 of everything that changes the binary:
 * the source, the target arch, the compiler and its version, the flags. Entries are written to
 * a temporary name and renamed into place, so workers starting together on one machine never
 * read a half-written file (they may both compile; the last rename wins with equal bytes).
 *
 * Folder: `cuda.kernel_cache` when set, else $XDG_CACHE_HOME/instructue/cuda-kernels, else
 * ~/.cache/instructue/cuda-kernels, else the OS temp folder.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export function cacheKey(parts: readonly (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(String(typeof p === 'string' ? p.length : p.byteLength));
    h.update(':');
    h.update(p);
  }
  return h.digest('hex');
}

/** The cache folder (created); `configured` wins when non-empty. */
export function kernelCacheDir(configured = '', env: NodeJS.ProcessEnv = process.env): string {
  const candidates = configured
    ? [configured]
    : [env.XDG_CACHE_HOME ? join(env.XDG_CACHE_HOME, 'instructue', 'cuda-kernels') : '', join(homedir(), '.cache', 'instructue', 'cuda-kernels'), join(tmpdir(), `instructue-cuda-kernels-${process.getuid?.() ?? 'user'}`)].filter(Boolean);
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
      return dir;
    } catch {
      if (configured) throw new Error(`cuda.kernel_cache ${configured} is not a writable folder`);
    }
  }
  return candidates.at(-1)!;
}

/** The cached bytes for `key`, or null. */
export function readCached(dir: string, key: string, ext: string): Buffer | null {
  const path = join(dir, `${key}${ext}`);
  return existsSync(path) ? readFileSync(path) : null;
}

/** The path `key` is (or will be) stored at. */
export function cachedPath(dir: string, key: string, ext: string): string {
  return join(dir, `${key}${ext}`);
}

/** Stores `bytes` under `key` atomically; returns the final path. */
export function writeCached(dir: string, key: string, ext: string, bytes: Uint8Array): string {
  const path = cachedPath(dir, key, ext);
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, bytes);
  renameSync(temp, path);
  return path;
}
