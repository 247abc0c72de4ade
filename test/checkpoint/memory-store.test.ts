import { MemoryCheckpointStore } from '../../src/checkpoint/memory-store.js';
import { runCheckpointStoreContract } from './store.contract.js';

runCheckpointStoreContract('memory', async ({ keepLast, required }) => {
  const store = new MemoryCheckpointStore(keepLast, required);
  return {
    store,
    corrupt: async (step, file) => store.corrupt(step, file, 3),
    editManifest: async (step, edit) => store.editManifest(step, edit),
    remove: async (step, file) => store.remove(step, file),
    cleanup: async () => {},
  };
});
