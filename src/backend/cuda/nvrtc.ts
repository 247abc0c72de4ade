/**
 * @module backend/cuda/nvrtc
 * Compiling the kernel module with NVRTC (through koffi), once per process and once per machine:
 * the result is cached on disk under a key of source + target + NVRTC version + options.
 *
 * The device gets a CUBIN for its own `sm_XY` (`--gpu-architecture=sm_XY`): machine code needs
 * no JIT at load, so a PTX ISA newer than the driver's (NVRTC newer than the driver) cannot make
 * `cuModuleLoadData` fail. When this NVRTC does not know the device's arch, PTX for the newest
 * `compute_XY` it knows is the fallback (the driver JIT-compiles it).
 */
import koffi, { type LibraryHandle } from 'koffi';
import { performance } from 'node:perf_hooks';
import { BackendError } from '../../errors.js';
import { openLibrary } from '../native/find-library.js';
import { cacheKey, kernelCacheDir, readCached, writeCached } from './kernel-cache.js';
import { nvrtcSpec } from './libs.js';

type Fn = (...args: unknown[]) => number;

// Nothing beyond the target: each NVRTC's default dialect compiles the kernels (no headers, plain C).
const OPTIONS: string[] = [];

export interface CompiledModule {
  /** CUBIN (ELF) or NUL-terminated PTX. */
  image: Buffer;
  kind: 'cubin' | 'ptx';
  /** The target it was compiled for: sm_90, compute_86, ... */
  target: string;
  fromCache: boolean;
  ms: number;
}

export class Nvrtc {
  readonly path: string;
  readonly version: string;
  /** Archs this NVRTC can target, e.g. [50, 52, ..., 90]. */
  readonly archs: number[];
  private readonly f: Record<string, Fn>;
  private readonly errorString: (rc: number) => string;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const { handle: lib, found } = openLibrary(nvrtcSpec(), (p) => koffi.load(p), env);
    this.path = found.path;
    const fn = (proto: string) => lib.func(proto) as unknown as Fn;
    this.f = {
      version: fn('int nvrtcVersion(_Out_ int *major, _Out_ int *minor)'),
      create: fn('int nvrtcCreateProgram(_Out_ void **prog, const char *src, const char *name, int numHeaders, void *headers, void *names)'),
      compile: fn('int nvrtcCompileProgram(void *prog, int numOptions, const char **options)'),
      logSize: fn('int nvrtcGetProgramLogSize(void *prog, _Out_ size_t *size)'),
      log: fn('int nvrtcGetProgramLog(void *prog, _Out_ uint8_t *log)'),
      ptxSize: fn('int nvrtcGetPTXSize(void *prog, _Out_ size_t *size)'),
      ptx: fn('int nvrtcGetPTX(void *prog, _Out_ uint8_t *ptx)'),
      destroy: fn('int nvrtcDestroyProgram(_Inout_ void **prog)'),
    };
    const errorString = lib.func('const char *nvrtcGetErrorString(int result)') as unknown as (rc: number) => string;
    this.errorString = errorString;
    try {
      this.f.cubinSize = fn('int nvrtcGetCUBINSize(void *prog, _Out_ size_t *size)');
      this.f.cubin = fn('int nvrtcGetCUBIN(void *prog, _Out_ uint8_t *cubin)');
    } catch {
      // NVRTC before 11.1 makes PTX only
    }
    const major = [0];
    const minor = [0];
    this.check('nvrtcVersion', this.f.version!(major, minor));
    this.version = `${major[0]}.${minor[0]}`;
    this.archs = this.supportedArchs(lib);
  }

  private supportedArchs(lib: LibraryHandle): number[] {
    try {
      const count = lib.func('int nvrtcGetNumSupportedArchs(_Out_ int *n)') as unknown as Fn;
      const list = lib.func('int nvrtcGetSupportedArchs(_Out_ int *archs)') as unknown as Fn;
      const n = [0];
      this.check('nvrtcGetNumSupportedArchs', count(n));
      const archs = new Int32Array(n[0]!);
      this.check('nvrtcGetSupportedArchs', list(archs));
      return [...archs];
    } catch {
      return [35, 50, 52, 53, 60, 61, 62, 70, 72, 75, 80]; // NVRTC 11.0/11.1 lack the query
    }
  }

  private check(what: string, rc: number): void {
    if (rc !== 0) throw new BackendError(`${what} failed: ${this.errorString(rc)} (NVRTC ${this.version ?? '?'} at ${this.path})`);
  }

  /** The target for a device of compute capability `major.minor`: its own sm when known, else PTX. */
  targetFor(major: number, minor: number): string {
    const arch = major * 10 + minor;
    if (this.archs.includes(arch) && this.f.cubin) return `sm_${arch}`;
    const below = this.archs.filter((a) => a <= arch);
    if (below.length === 0) throw new BackendError(`NVRTC ${this.version} (${this.path}) cannot compile for compute capability ${major}.${minor} (it knows ${this.archs.join(', ')}); install an NVRTC that matches the GPU`);
    return `compute_${Math.max(...below)}`;
  }

  /** Compiles `source` for `target` (sm_XY → CUBIN, compute_XY → PTX), through the disk cache. */
  compile(source: string, target: string, name = 'instructue_kernels.cu', cacheDir = ''): CompiledModule {
    const kind = target.startsWith('sm_') ? 'cubin' : 'ptx';
    const options = [`--gpu-architecture=${target}`, ...OPTIONS];
    const dir = kernelCacheDir(cacheDir);
    const key = cacheKey(['nvrtc', this.version, options.join(' '), source]);
    const ext = kind === 'cubin' ? '.cubin' : '.ptx';
    const cached = readCached(dir, key, ext);
    if (cached) return { image: cached, kind, target, fromCache: true, ms: 0 };
    const start = performance.now();
    const image = this.compileUncached(source, name, options, kind);
    writeCached(dir, key, ext, image);
    return { image, kind, target, fromCache: false, ms: performance.now() - start };
  }

  private compileUncached(source: string, name: string, options: string[], kind: 'cubin' | 'ptx'): Buffer {
    const prog = [null as unknown];
    this.check('nvrtcCreateProgram', this.f.create!(prog, source, name, 0, null, null));
    try {
      const rc = this.f.compile!(prog[0], options.length, options);
      if (rc !== 0) {
        const size = [0];
        this.f.logSize!(prog[0], size);
        const log = Buffer.alloc(Math.max(1, size[0]!));
        this.f.log!(prog[0], log);
        throw new BackendError(`NVRTC ${this.version} could not compile the cuda kernels (${options.join(' ')}): ${this.errorString(rc)}\n${log.toString('utf8').replace(/\0+$/, '').split('\n').slice(0, 40).join('\n')}`);
      }
      const size = [0];
      this.check(kind === 'cubin' ? 'nvrtcGetCUBINSize' : 'nvrtcGetPTXSize', (kind === 'cubin' ? this.f.cubinSize! : this.f.ptxSize!)(prog[0], size));
      const image = Buffer.alloc(size[0]!);
      this.check(kind === 'cubin' ? 'nvrtcGetCUBIN' : 'nvrtcGetPTX', (kind === 'cubin' ? this.f.cubin! : this.f.ptx!)(prog[0], image));
      return image;
    } finally {
      this.f.destroy!(prog);
    }
  }
}
