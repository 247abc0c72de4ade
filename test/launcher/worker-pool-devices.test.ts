/**
 * The local launcher's GPU assignment (cuda.worker_devices): real `instructue worker` processes
 * against a real nats-server (no coordinator, so they wait to join); each child's
 * CUDA_VISIBLE_DEVICES is read from /proc/<pid>/environ. Three workers on two GPUs get 0, 1, 0;
 * when the worker on GPU 1 dies, the pool's replacement (dist.max_restarts) takes its id and gets GPU 1 back. Without devices, children
 * inherit the environment untouched.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WorkerPool } from '../../src/launcher/worker-pool.js';
import { silentLogger } from '../../src/log.js';
import { useNatsServer } from '../helpers/nats.js';

function visibleDevices(pid: number): string | undefined {
  const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  return env.find((e) => e.startsWith('CUDA_VISIBLE_DEVICES='))?.slice('CUDA_VISIBLE_DEVICES='.length);
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('worker pool GPU assignment', () => {
  const nats = useNatsServer();

  it('spreads workers over the devices and gives a replacement the freed one', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'instructue-pool-'));
    const pool = new WorkerPool({ natsUrl: nats().url, job: 'devices', logDir, log: silentLogger, maxRestarts: 1, devices: ['0', '1'], env: { CUDA_VISIBLE_DEVICES: 'inherited' } });
    try {
      pool.grow(3);
      assert.deepEqual(pool.alive, ['w0', 'w1', 'w2']);
      assert.deepEqual(pool.alive.map((id) => visibleDevices(pool.pid(id)!)), ['0', '1', '0']);
      assert.deepEqual([...pool.devices], [['w0', '0'], ['w1', '1'], ['w2', '0']]);
      const killedPid = pool.pid('w1');
      pool.signal('w1', 'SIGKILL');
      await until(() => pool.restarted === 1 && pool.alive.includes('w1') && pool.pid('w1') !== killedPid, 'the replacement of w1');
      assert.deepEqual(pool.alive.sort(), ['w0', 'w1', 'w2']);
      assert.equal(visibleDevices(pool.pid('w1')!), '1');
    } finally {
      for (const id of pool.alive) pool.signal(id, 'SIGKILL');
      await pool.waitAll(5000);
      rmSync(logDir, { recursive: true, force: true });
    }
  });

  it('leaves CUDA_VISIBLE_DEVICES alone without devices', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'instructue-pool-'));
    const pool = new WorkerPool({ natsUrl: nats().url, job: 'nodevices', logDir, log: silentLogger, maxRestarts: 0, env: { CUDA_VISIBLE_DEVICES: '3' } });
    try {
      pool.grow(1);
      assert.equal(visibleDevices(pool.pid('w0')!), '3');
      assert.equal(pool.devices.size, 0);
    } finally {
      for (const id of pool.alive) pool.signal(id, 'SIGKILL');
      await pool.waitAll(5000);
      rmSync(logDir, { recursive: true, force: true });
    }
  });
});
