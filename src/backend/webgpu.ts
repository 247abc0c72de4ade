/**
 * @module backend/webgpu
 * Experimental GPU path without libtensorflow: @tensorflow/tfjs-backend-webgpu on the npm
 * package `webgpu` (Dawn for Node, a prebuilt native addon) over Vulkan. Neither package is a
 * dependency of instructue (Dawn alone is 130 MB); an operator installs them next to it:
 *   npm install --no-save webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0
 * tfjs-backend-webgpu registers itself only if `navigator.gpu` exists when it is imported,
 * so the Dawn instance is installed on globalThis first.
 */
import { BackendError } from '../errors.js';
import { tf } from './tf.js';

const INSTALL_HINT = 'npm install --no-save webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0';

let adapterDescription = '';

/** Vendor and description of the adapter in use ('' before loading). */
export function webgpuAdapter(): string {
  return adapterDescription;
}

export async function loadWebgpuBackend(dawnOptions: string[] = []): Promise<string> {
  if (tf.findBackend('webgpu')) {
    await tf.setBackend('webgpu');
    return adapterDescription;
  }
  let dawn: { create(options: string[]): unknown; globals: Record<string, unknown> };
  try {
    dawn = (await import('webgpu')) as typeof dawn;
  } catch (err) {
    throw new BackendError(`backend "webgpu" needs the npm packages webgpu and @tensorflow/tfjs-backend-webgpu (${INSTALL_HINT}): ${(err as Error).message}`, { cause: err });
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(dawnOptions) as { requestAdapter(o?: object): Promise<{ info?: { description?: string; vendor?: string } } | null> };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new BackendError('backend "webgpu": Dawn found no GPU adapter (is a Vulkan driver installed? see docs/gpu.md)');
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (err) {
    throw new BackendError(`backend "webgpu" needs @tensorflow/tfjs-backend-webgpu (${INSTALL_HINT}): ${(err as Error).message}`, { cause: err });
  }
  if (!(await tf.setBackend('webgpu'))) throw new BackendError('backend "webgpu" failed to initialise');
  await tf.ready();
  adapterDescription = `${adapter.info?.vendor ?? ''} ${adapter.info?.description ?? ''}`.trim();
  return adapterDescription;
}
