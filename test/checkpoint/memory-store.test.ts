import { MemoryCheckpointStore } from '../../src/checkpoint/memory-store.js';
import { runCheckpointStoreContract } from './store.contract.js';

runCheckpointStoreContract('memory', async (keepLast) => {
  const store = new MemoryCheckpointStore(keepLast);
  return { store, corrupt: async (step, file) => store.corrupt(step, file, 3), cleanup: async () => {} };
});
