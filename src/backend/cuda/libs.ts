/**
 * @module backend/cuda/libs
 * Where the cuda backend finds its three native libraries, through backend/native/find-library's
 * one search order (INSTRUCTUE_CUDA_LIBS, LD_LIBRARY_PATH, the folders below, ldconfig, system):
 *
 * - libcuda (the driver API) comes with the NVIDIA driver: ldconfig or the system folders, or
 *   /usr/local/nvidia/lib64 where Kubernetes' device plugin mounts it;
 * - cuBLAS and NVRTC come from a CUDA toolkit (/usr/local/cuda*), from the `nvidia/<lib>/lib`
 *   (or `nvidia/cu13/lib`) folders of a Python's site-packages — PyTorch's wheels install them
 *   there — or from Debian non-free (CUDA 11.8's libcublas11 / libnvrtc11.2).
 *
 * A Python is asked for its site-packages only when a toolkit-less search needs it
 * (`INSTRUCTUE_PYTHON`, else python3 on PATH), once per process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LibrarySpec } from '../native/find-library.js';

export const CUDA_LIBS_ENV = 'INSTRUCTUE_CUDA_LIBS';

const SUPPLY = `Point ${CUDA_LIBS_ENV} at the folder (or file), or add it to LD_LIBRARY_PATH`;

/** Folders matching `root/prefix*\/sub` (e.g. /usr/local/cuda-12.8/lib64), newest name first. */
function globDirs(root: string, prefix: string, subs: readonly string[]): string[] {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.startsWith(prefix))
    .sort()
    .reverse()
    .flatMap((e) => subs.map((s) => join(root, e, s)))
    .filter((d) => existsSync(d));
}

export function toolkitDirs(): string[] {
  return globDirs('/usr/local', 'cuda', ['lib64', 'lib', 'targets/x86_64-linux/lib', 'targets/sbsa-linux/lib']);
}

let pythonDirsCache: string[] | null = null;

/** The `nvidia/*\/lib` folders of a Python's site-packages (PyTorch's CUDA wheels). */
export function pythonNvidiaDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  if (pythonDirsCache) return pythonDirsCache;
  const sitePackages = new Set<string>();
  for (const prefix of [env.VIRTUAL_ENV, env.CONDA_PREFIX].filter((p): p is string => Boolean(p))) {
    for (const lib of ['lib', 'lib64']) for (const d of globDirs(join(prefix, lib), 'python3', ['site-packages'])) sitePackages.add(d);
  }
  const python = env.INSTRUCTUE_PYTHON || 'python3';
  try {
    const out = execFileSync(python, ['-c', 'import site, sys; print("\\n".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    for (const line of out.split('\n').map((l) => l.trim()).filter(Boolean)) if (line.includes('-packages')) sitePackages.add(line);
  } catch {
    // no Python: the other places are still searched
  }
  pythonDirsCache = [...sitePackages].flatMap((sp) => globDirs(join(sp, 'nvidia'), '', ['lib']));
  return pythonDirsCache;
}

export function libcudaSpec(): LibrarySpec {
  return {
    label: 'libcuda (the NVIDIA driver API)',
    names: ['libcuda.so.1', 'libcuda.so'],
    envVar: CUDA_LIBS_ENV,
    dirs: ['/usr/local/nvidia/lib64', '/usr/lib/wsl/lib'],
    hint: `It comes with the NVIDIA driver (nvidia-smi should work); in a container, run it with the GPU exposed (docker --gpus all, or nvidia.com/gpu in Kubernetes). ${SUPPLY}.`,
  };
}

export function cublasSpec(): LibrarySpec {
  return {
    label: 'cuBLAS',
    names: ['libcublas.so.13', 'libcublas.so.12', 'libcublas.so.11', 'libcublas.so'],
    envVar: CUDA_LIBS_ENV,
    dirs: [...toolkitDirs(), ...pythonNvidiaDirs()],
    hint: `Install a CUDA toolkit or runtime (libcublas), or pip install nvidia-cublas-cu12 (PyTorch installs it), or apt-get install libcublas11 (Debian non-free). ${SUPPLY}.`,
  };
}

export function nvrtcSpec(): LibrarySpec {
  return {
    label: 'NVRTC (the CUDA runtime compiler)',
    names: ['libnvrtc.so.13', 'libnvrtc.so.12', 'libnvrtc.so.11.2', 'libnvrtc.so'],
    envVar: CUDA_LIBS_ENV,
    dirs: [...toolkitDirs(), ...pythonNvidiaDirs()],
    hint: `Install a CUDA toolkit or runtime (cuda-nvrtc), or pip install nvidia-cuda-nvrtc-cu12 (PyTorch installs it), or apt-get install libnvrtc11.2 (Debian non-free). ${SUPPLY}.`,
  };
}
