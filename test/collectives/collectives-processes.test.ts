import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { useNatsServer } from '../helpers/nats.js';
import { bits, rankInput, referenceSum } from './support/reference.js';

const fixture = fileURLToPath(new URL('./fixtures/all-reduce-rank.js', import.meta.url));

/** Runs the fixture as `world` processes; resolves when all exit 0, kills them (by PID) on timeout. */
async function runRanks(url: string, world: number, length: number, seed: string, outDir: string, timeoutMs: number): Promise<void> {
  const children = Array.from({ length: world }, (_, rank) =>
    spawn(process.execPath, [fixture, url, String(rank), String(world), String(length), seed, outDir], { stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  const timer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), timeoutMs);
  await Promise.all(
    children.map(
      (child, rank) =>
        new Promise<void>((resolve, reject) => {
          let stderr = '';
          child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`rank ${rank} exited with ${code ?? signal}: ${stderr.slice(-2000)}`))));
        }),
    ),
  ).finally(() => clearTimeout(timer));
}

describe('collectives across real processes', () => {
  const server = useNatsServer();

  it('3 worker processes all-reduce to bit-identical results equal to the plain sum (float32 and bf16 wire)', async () => {
    const world = 3;
    const length = 300_001;
    const outDir = mkdtempSync(join(tmpdir(), 'instructue-allreduce-'));
    try {
      await runRanks(server().url, world, length, 'processes', outDir, 45_000);
      const inputs = Array.from({ length: world }, (_, r) => rankInput('processes', r, length));
      for (const dtype of ['float32', 'bf16'] as const) {
        const expected = bits(referenceSum(inputs, dtype));
        for (let rank = 0; rank < world; rank++) {
          const raw = readFileSync(join(outDir, `rank-${rank}.${dtype}`));
          const got = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
          assert.deepEqual(bits(got), expected, `rank ${rank}, ${dtype}`);
        }
      }
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
