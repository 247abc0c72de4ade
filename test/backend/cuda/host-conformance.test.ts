/**
 * The cuda backend's conformance suite (conformance.ts) through the host driver: the backend's
 * own CUDA kernel sources compiled as host C++ with g++, launched over their grids with the
 * same packed `void**` arguments as cuLaunchKernel, SGEMM with cuBLAS's semantics. Every kernel
 * launch checks its pointers against live allocations and the guard bytes around them.
 */
import { HostDriver } from '../../../src/backend/cuda/host/host-driver.js';
import { allKernelSources, registerCudaBackend } from '../../../src/backend/cuda/registry.js';
import { tf } from '../../../src/backend/tf.js';
import { defineConformanceSuite } from './conformance.js';

tf.env().set('PROD', true);
const driver = new HostDriver({ kernels: allKernelSources() });
registerCudaBackend(driver, 'cuda');
await tf.setBackend('cpu');
defineConformanceSuite({ backendName: 'cuda', deviceBytes: () => driver.allocatedBytes, rtol: 1e-5 });
