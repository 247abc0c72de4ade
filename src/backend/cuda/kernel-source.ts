/**
 * @module backend/cuda/kernel-source
 * How a kernel is written once and run two ways. A `KernelSource` is a CUDA C kernel (name,
 * C parameter list, body); `moduleSource` joins them into the one module NVRTC compiles for the
 * device, and the host driver compiles the same text as C++ with a small prelude
 * (host/prelude.ts). The parameter list is also the packing contract: `packParams` turns the
 * backend's JS values into the bytes of each argument, exactly what `cuLaunchKernel` reads
 * through its `void**` (and what the host trampolines read back).
 *
 * Kernels may use: threadIdx/blockIdx/blockDim/gridDim (x only is enough for ours), static
 * `__shared__` arrays, `__syncthreads()` in uniform control flow (declare `barrier: true`),
 * `atomicAdd(float*, float)`, and the C math functions (expf, logf, erff, ...). No includes,
 * no dynamic shared memory, no warp intrinsics: the host runs a block's threads as fibers that
 * meet at barriers, and nothing else.
 */
import { BackendError } from '../../errors.js';

export interface KernelSource {
  /** The C symbol (extern "C"), e.g. `bin_add_f32`. */
  name: string;
  /** C parameter list, e.g. `float* out, const float* x, int n, Dims shape`. */
  params: string;
  /** Body statements. */
  body: string;
  /** True when the body uses __syncthreads (the host then runs each block's threads as fibers). */
  barrier?: boolean;
}

/** What a parameter's bytes are. */
export type ParamKind = 'ptr' | 'i32' | 'u32' | 'f32' | 'dims';

export interface ParamSpec {
  name: string;
  /** The C type as written (`const float*`). */
  ctype: string;
  kind: ParamKind;
}

/** Ranks up to MAX_RANK fit a `Dims` argument (struct of int[MAX_RANK], passed by value). */
export const MAX_RANK = 6;

/**
 * Shared by both compilers: the `Dims` struct and two helpers. NVRTC sees it as device code;
 * the host prelude defines the CUDA keywords first.
 */
export const DEVICE_PRELUDE = `
#define MAX_RANK ${MAX_RANK}
struct Dims { int d[MAX_RANK]; };
__device__ __forceinline__ float neg_inf_f() { return __int_as_float(0xff800000); }
__device__ __forceinline__ float pos_inf_f() { return __int_as_float(0x7f800000); }
`;

const parsed = new Map<string, ParamSpec[]>();

/** The parameters of a C parameter list. */
export function paramSpecs(params: string): ParamSpec[] {
  const hit = parsed.get(params);
  if (hit) return hit;
  const specs = params.split(',').map((p) => p.trim()).filter(Boolean).map((p): ParamSpec => {
    const m = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)$/.exec(p);
    if (!m) throw new Error(`kernel parameter "${p}" is not "type name"`);
    const ctype = m[1]!.replace(/__restrict__/g, '').replace(/\s+/g, ' ').trim();
    const name = m[2]!;
    let kind: ParamKind;
    if (ctype.endsWith('*')) kind = 'ptr';
    else if (ctype === 'int') kind = 'i32';
    else if (ctype === 'unsigned' || ctype === 'unsigned int') kind = 'u32';
    else if (ctype === 'float') kind = 'f32';
    else if (ctype === 'Dims') kind = 'dims';
    else throw new Error(`kernel parameter "${p}": type ${ctype} is not one of T*, int, unsigned, float, Dims`);
    return { name, ctype, kind };
  });
  parsed.set(params, specs);
  return specs;
}

/** A value for one parameter: a number, or up to MAX_RANK ints for `Dims`. */
export type ParamValue = number | readonly number[];

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

interface Packer {
  specs: ParamSpec[];
  /** One view per argument into a single buffer, reused by every launch of the kernel. */
  views: Buffer[];
}

const packers = new WeakMap<KernelSource, Packer>();

function packerOf(kernel: KernelSource): Packer {
  let p = packers.get(kernel);
  if (!p) {
    const specs = paramSpecs(kernel.params);
    const sizes = specs.map((s) => (s.kind === 'ptr' ? 8 : s.kind === 'dims' ? 4 * MAX_RANK : 4));
    const all = Buffer.alloc(sizes.reduce((a, b) => a + b, 0));
    let offset = 0;
    const views = sizes.map((size) => {
      const v = all.subarray(offset, offset + size);
      offset += size;
      return v;
    });
    p = { specs, views };
    packers.set(kernel, p);
  }
  return p;
}

/**
 * The bytes of each argument of `kernel`, in order (little-endian, as the GPU and x86-64 read
 * them). Throws on a count or type mismatch, and on an int that does not fit 32 bits: shapes
 * past 2^31 elements are refused here rather than wrapped on the device.
 *
 * The returned buffers are the kernel's own and are overwritten by its next packing: a launch
 * reads them before returning (cuLaunchKernel copies argument values at the call), so one set
 * per kernel serves every launch without allocating.
 */
export function packParams(kernel: KernelSource, values: readonly ParamValue[]): Buffer[] {
  const { specs, views } = packerOf(kernel);
  if (values.length !== specs.length) throw new Error(`kernel ${kernel.name} takes ${specs.length} arguments (${kernel.params}); got ${values.length}`);
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const v = values[i]!;
    const b = views[i]!;
    if (spec.kind === 'dims') {
      if (typeof v === 'number' || v.length > MAX_RANK) throw new Error(`kernel ${kernel.name}: ${spec.name} needs at most ${MAX_RANK} ints`);
      for (let j = 0; j < MAX_RANK; j++) b.writeInt32LE(j < v.length ? checkInt(kernel, spec, v[j]!) : 0, 4 * j);
      continue;
    }
    if (typeof v !== 'number') throw new Error(`kernel ${kernel.name}: ${spec.name} (${spec.ctype}) needs a number`);
    switch (spec.kind) {
      case 'ptr':
        if (!Number.isSafeInteger(v) || v < 0) throw new Error(`kernel ${kernel.name}: ${spec.name} is not a device pointer (${v})`);
        b.writeUInt32LE(v % 0x100000000, 0);
        b.writeUInt32LE(Math.floor(v / 0x100000000), 4);
        break;
      case 'i32':
        b.writeInt32LE(checkInt(kernel, spec, v));
        break;
      case 'u32':
        if (!Number.isInteger(v) || v < 0 || v > 2 ** 32 - 1) throw new Error(`kernel ${kernel.name}: ${spec.name} = ${v} is not a 32-bit unsigned int`);
        b.writeUInt32LE(v);
        break;
      default:
        b.writeFloatLE(v);
    }
  }
  return views;
}

function checkInt(kernel: KernelSource, spec: ParamSpec, v: number): number {
  if (!Number.isInteger(v) || v < I32_MIN || v > I32_MAX) {
    throw new BackendError(`cuda kernel ${kernel.name}: ${spec.name} = ${v} does not fit a 32-bit int (tensors past 2^31 elements are not supported)`);
  }
  return v;
}

/** One kernel as a CUDA C definition. */
export function kernelDefinition(k: KernelSource): string {
  return `extern "C" __global__ void ${k.name}(${k.params}) {\n${k.body.trim()}\n}\n`;
}

/** The whole module: the shared prelude and every kernel, in order. */
export function moduleSource(kernels: readonly KernelSource[]): string {
  const seen = new Set<string>();
  for (const k of kernels) {
    if (seen.has(k.name)) throw new Error(`two cuda kernels are named ${k.name}`);
    seen.add(k.name);
  }
  return [DEVICE_PRELUDE, ...kernels.map(kernelDefinition)].join('\n');
}
