// Optional packages that are not dependencies of instructue (see src/backend/webgpu.ts): typed
// loosely so the build does not need them installed.
declare module 'webgpu';
declare module '@tensorflow/tfjs-backend-webgpu';
