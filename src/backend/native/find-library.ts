/**
 * @module backend/native/find-library
 * Finding a native shared library at run time (OpenBLAS for the wasm backend's matmuls; libcuda,
 * cuBLAS and NVRTC for the cuda backend), with one search order for all of them:
 *
 *   1. the library's own environment variable (a file, or a folder; `:`-separated list),
 *   2. `LD_LIBRARY_PATH`,
 *   3. folders the caller adds (a CUDA toolkit, the `nvidia/<lib>/lib` folders of a Python's
 *      site-packages as PyTorch installs them, ...),
 *   4. the dynamic linker's cache (`ldconfig -p`) and the standard system folders.
 *
 * Nothing is loaded here: the caller opens the path (koffi) and may try the next candidate if it
 * fails to load. When nothing is found, `LibraryNotFoundError` lists every place searched and
 * says how to supply the library.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BackendError } from '../../errors.js';

export interface LibrarySpec {
  /** What it is, for messages: "OpenBLAS", "cuBLAS". */
  label: string;
  /** File names to try, most specific first, e.g. ['libopenblas.so.0', 'libopenblas.so']. A name may end in `*` to match versioned files (`libnvrtc.so.*`). */
  names: readonly string[];
  /** Environment variable naming a file or folder (`:`-separated), searched first. */
  envVar?: string;
  /** Extra folders, searched after the environment and before the system. */
  dirs?: readonly string[];
  /** How to supply the library, shown when it is not found (e.g. "apt-get install libopenblas0-pthread"). */
  hint: string;
  /**
   * Also search `LD_LIBRARY_PATH`, the linker cache and the system folders (default true). False
   * limits the search to the library's variable and `dirs`: for a caller that must not pick up
   * whatever the machine has installed (a test of the not-found path, a pinned deployment).
   */
  systemSearch?: boolean;
}

export interface LibraryCandidate {
  path: string;
  /** Where it was found: "INSTRUCTUE_BLAS_LIB", "LD_LIBRARY_PATH", "ldconfig", a folder. */
  from: string;
}

/** The standard Linux library folders (Debian multiarch first). */
export const SYSTEM_LIB_DIRS: readonly string[] = [
  '/usr/lib/x86_64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/usr/local/lib',
];

export class LibraryNotFoundError extends BackendError {
  constructor(readonly spec: LibrarySpec, readonly searched: string[]) {
    super(`${spec.label} not found (looked for ${spec.names.join(', ')} in: ${searched.join('; ') || 'nowhere'}). ${spec.hint}`);
  }
}

/** Every candidate file for `spec`, in search order, without duplicates. */
export function libraryCandidates(spec: LibrarySpec, env: NodeJS.ProcessEnv = process.env): { candidates: LibraryCandidate[]; searched: string[] } {
  const candidates: LibraryCandidate[] = [];
  const searched: string[] = [];
  const seen = new Set<string>();
  const add = (path: string, from: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    candidates.push({ path, from });
  };
  const searchDir = (dir: string, from: string) => {
    searched.push(from === dir ? dir : `${dir} (${from})`);
    for (const name of spec.names) for (const path of matches(dir, name)) add(path, from);
  };
  const fromEnv = (variable: string) => {
    for (const entry of (env[variable] ?? '').split(':').filter(Boolean)) {
      if (isFile(entry)) {
        searched.push(`${entry} (${variable})`);
        add(entry, variable);
      } else searchDir(entry, variable);
    }
  };
  const system = spec.systemSearch ?? true;
  if (spec.envVar) fromEnv(spec.envVar);
  if (system) fromEnv('LD_LIBRARY_PATH');
  for (const dir of spec.dirs ?? []) searchDir(dir, dir);
  if (!system) return { candidates, searched };
  const cache = linkerCache();
  searched.push('ldconfig -p');
  for (const name of spec.names) {
    const pattern = globToRegExp(name);
    for (const [file, path] of cache) if (pattern.test(file)) add(path, 'ldconfig');
  }
  for (const dir of SYSTEM_LIB_DIRS) searchDir(dir, dir);
  return { candidates, searched };
}

/**
 * The first candidate `open` accepts (it returns a handle, or throws/returns null to try the
 * next); throws LibraryNotFoundError naming every place searched and every load failure.
 */
export function openLibrary<T>(spec: LibrarySpec, open: (path: string) => T | null, env: NodeJS.ProcessEnv = process.env): { handle: T; found: LibraryCandidate } {
  const { candidates, searched } = libraryCandidates(spec, env);
  const failures: string[] = [];
  for (const found of candidates) {
    try {
      const handle = open(found.path);
      if (handle !== null) return { handle, found };
      failures.push(`${found.path}: not usable`);
    } catch (err) {
      failures.push(`${found.path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new LibraryNotFoundError(spec, failures.length ? [...searched, ...failures.map((f) => `failed to load ${f}`)] : searched);
}

/** `name` in `dir`, or every versioned file matching a trailing `*`. */
function matches(dir: string, name: string): string[] {
  if (!name.includes('*')) {
    const path = join(dir, name);
    return isFile(path) ? [path] : [];
  }
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const pattern = globToRegExp(name);
  // Newest version first: libnvrtc.so.12 before libnvrtc.so.11.2.
  return entries.filter((e) => pattern.test(e)).sort(compareVersionsDescending).map((e) => join(dir, e)).filter(isFile);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function globToRegExp(name: string): RegExp {
  return new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

function compareVersionsDescending(a: string, b: string): number {
  const nums = (s: string) => (s.match(/\d+/g) ?? []).map(Number);
  const x = nums(a);
  const y = nums(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (y[i] ?? -1) - (x[i] ?? -1);
    if (d !== 0) return d;
  }
  return a.localeCompare(b);
}

let cachedLinkerCache: Array<[string, string]> | null = null;

/** (file name, path) pairs of the dynamic linker's cache; empty where `ldconfig` is absent. */
function linkerCache(): Array<[string, string]> {
  if (cachedLinkerCache) return cachedLinkerCache;
  cachedLinkerCache = [];
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    if (ldconfig.startsWith('/') && !existsSync(ldconfig)) continue;
    try {
      const text = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
      for (const line of text.split('\n')) {
        const m = /^\s*(\S+) \(([^)]*)\) => (\S+)$/.exec(line);
        // Only this machine's word size (x86-64 or AArch64), not 32-bit compat libraries.
        if (m && /64/.test(m[2]!)) cachedLinkerCache.push([basename(m[1]!), m[3]!]);
      }
      break;
    } catch {
      // try the next location
    }
  }
  return cachedLinkerCache;
}
