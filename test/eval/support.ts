/**
 * Test support for the evaluation commands: runs the real CLI as a child process, and makes a
 * real (briefly) trained tiny run on real synthetic files.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { trainLocal } from '../../src/train/local-trainer.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

export const REPO_ROOT = new URL('../../../', import.meta.url).pathname; // dist/test/eval → repo root

/** Runs `instructue <args>`; resolves with exit code and output whatever the code. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'bin/instructue.js'), ...args], { cwd: REPO_ROOT, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export interface TrainedRun {
  data: SynthData;
  run: string;
  remove(): void;
}

/** Synthesises users and trains the tiny preset for `steps` steps on wasm (a few seconds). */
export async function trainedRun(steps: number, users: number, evalUsers: number, seed: number): Promise<TrainedRun> {
  const data = synthData(users, seed, evalUsers);
  const run = mkdtempSync(join(tmpdir(), 'instructue-eval-run-'));
  const config = loadConfig({
    file: join(REPO_ROOT, 'configs/tiny.json'), env: {},
    overrides: { 'data.train': data.train, backend: 'wasm', 'train.steps': steps, 'train.checkpoint_every': 0 },
  });
  await trainLocal({ config, out: run, resume: false, allowConfigChange: false, log: silentLogger });
  return {
    data, run,
    remove: () => {
      data.remove();
      rmSync(run, { recursive: true, force: true });
    },
  };
}
