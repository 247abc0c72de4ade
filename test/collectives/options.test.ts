import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { collectivesOptions } from '../../src/collectives/options.js';

describe('collectives options from the config', () => {
  it('maps the dist section onto Collectives options, window 0 meaning automatic', () => {
    // bf16 on the wire needs train.exact_sum off (the exact sum travels as integer limbs).
    const { dist } = loadConfig({ overrides: { 'dist.job': 'run7', 'dist.wire_dtype': 'bf16', 'dist.collective_timeout_ms': 5000, 'train.exact_sum': false }, env: {} });
    assert.deepEqual(collectivesOptions(dist, { epoch: 3, rank: 1, worldSize: 4 }), {
      job: 'run7', epoch: 3, rank: 1, worldSize: 4, chunkBytes: 1024 * 1024, wireDtype: 'bf16', timeoutMs: 5000, retransmitMs: 250, connections: 1,
    });
    assert.equal(collectivesOptions(loadConfig({ overrides: { 'dist.collective_connections': 0 }, env: {} }).dist, { epoch: 0, rank: 0, worldSize: 2 }).connections, 0);
    const sized = loadConfig({ overrides: { 'dist.flow_window_bytes': 8 << 20 }, env: {} }).dist;
    assert.equal(collectivesOptions(sized, { epoch: 0, rank: 0, worldSize: 2 }).windowBytes, 8 << 20);
  });
});
