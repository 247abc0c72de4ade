/**
 * @module config/sections/webgpu
 * Knobs of the `webgpu` backend (src/backend/webgpu.ts): Dawn's adapter options and the WebGPU
 * feature level, which together pick the device (a GPU over Vulkan by default; Mesa's llvmpipe
 * over OpenGL ES on a machine without one).
 */
import type convict from 'convict';
import { oneOf, stringList } from '../formats.js';

export interface WebgpuConfig {
  dawn_options: string[];
  feature_level: 'core' | 'compatibility';
}

export const webgpuSchema: convict.Schema<WebgpuConfig> = {
  dawn_options: { doc: 'Dawn toggles for the webgpu backend, e.g. ["backend=opengles"] (OpenGL ES, with feature_level compatibility) or ["adapter=NVIDIA"]; empty = Dawn\'s default adapter (Vulkan)', format: stringList(), default: [] },
  feature_level: { doc: 'WebGPU feature level the webgpu backend asks for: core, or compatibility (needed by Dawn\'s OpenGL ES backend)', format: oneOf(['core', 'compatibility']), default: 'core', env: 'INSTRUCTUE_WEBGPU_FEATURE_LEVEL' },
};
