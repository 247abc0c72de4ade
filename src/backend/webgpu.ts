/**
 * @module backend/webgpu
 * The portable GPU path without libtensorflow: @tensorflow/tfjs-backend-webgpu on the npm
 * package `webgpu` (Dawn for Node, a prebuilt native addon). Both are optional dependencies of
 * instructue (`npm ci --omit=optional` leaves them out; Dawn is 130 MB across platforms).
 *
 * Dawn picks its adapter from the options (`webgpu.dawn_options`, Dawn's own toggles):
 * - the default: Vulkan (an NVIDIA/AMD driver, or Mesa's lavapipe ≥ 23 on a CPU);
 * - `backend=opengles` with `webgpu.feature_level: compatibility`: OpenGL ES through EGL, e.g.
 *   Mesa's llvmpipe on a machine with no GPU at all (the CI route; EGL runs surfaceless).
 * tfjs-backend-webgpu registers itself only if `navigator.gpu` exists when it is imported, so
 * the Dawn instance is installed on globalThis first, and asks for an adapter without a feature
 * level, so a compatibility-mode request is added to its calls.
 *
 * The train step reads every tensor with `await data()`: webgpu in Node has no synchronous
 * reads of GPU-resident tensors (they need OffscreenCanvas).
 */
import { BackendError } from '../errors.js';
import { tf } from './tf.js';

const INSTALL_HINT = 'npm ci installs them unless optional dependencies are omitted; or npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0';

export interface WebgpuOptions {
  /** Dawn toggles, e.g. ['backend=opengles'] or ['adapter=NVIDIA']. */
  dawnOptions?: readonly string[];
  /** 'compatibility' for adapters that offer only WebGPU compatibility mode (Dawn's GL backends). */
  featureLevel?: 'core' | 'compatibility';
}

let adapterDescription = '';

/** Vendor and description of the adapter in use ('' before loading). */
export function webgpuAdapter(): string {
  return adapterDescription;
}

type Adapter = { info?: { description?: string; vendor?: string; architecture?: string; device?: string } } | null;
type Gpu = { requestAdapter(o?: object): Promise<Adapter> };

export async function loadWebgpuBackend(opts: WebgpuOptions = {}): Promise<string> {
  if (tf.findBackend('webgpu')) {
    await tf.setBackend('webgpu');
    return adapterDescription;
  }
  const dawnOptions = [...(opts.dawnOptions ?? [])];
  // Dawn's GLES backend on a headless machine: EGL needs no window system when surfaceless.
  if (dawnOptions.some((o) => /^backend=opengl(es)?$/.test(o))) process.env.EGL_PLATFORM ??= 'surfaceless';
  let dawn: { create(options: string[]): unknown; globals: Record<string, unknown> };
  try {
    dawn = (await import('webgpu')) as typeof dawn;
  } catch (err) {
    throw new BackendError(`backend "webgpu" needs the npm packages webgpu and @tensorflow/tfjs-backend-webgpu (${INSTALL_HINT}): ${(err as Error).message}`, { cause: err });
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(dawnOptions) as Gpu;
  if (opts.featureLevel === 'compatibility') {
    const request = gpu.requestAdapter.bind(gpu);
    gpu.requestAdapter = (o?: object) => request({ ...(o ?? {}), featureLevel: 'compatibility' });
  }
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new BackendError(`backend "webgpu": Dawn found no adapter with options [${dawnOptions.join(', ')}]${opts.featureLevel ? ` and feature level ${opts.featureLevel}` : ''} (is a Vulkan driver installed? without a GPU, Mesa's llvmpipe serves webgpu.dawn_options ["backend=opengles"] with webgpu.feature_level "compatibility"; see docs/gpu.md)`);
  }
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (err) {
    throw new BackendError(`backend "webgpu" needs @tensorflow/tfjs-backend-webgpu (${INSTALL_HINT}): ${(err as Error).message}`, { cause: err });
  }
  if (!(await tf.setBackend('webgpu'))) throw new BackendError('backend "webgpu" failed to initialise');
  await tf.ready();
  const info = adapter.info ?? {};
  adapterDescription = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || `(no adapter info; Dawn options ${dawnOptions.join(' ') || 'default'})`;
  return adapterDescription;
}
