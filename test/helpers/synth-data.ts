/**
 * Test helper: a small synthetic UserQA data set in a temp folder (real files, real generator).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSynth } from '../../src/data/synth/write.js';

export interface SynthData {
  dir: string;
  train: string;
  eval: string;
  remove(): void;
}

export function synthData(users = 300, seed = 11, evalUsers = 40): SynthData {
  const dir = mkdtempSync(join(tmpdir(), 'instructue-data-'));
  writeSynth({ out: dir, users, evalUsers, shards: 2, gzip: false, seed, difficulty: 0.5, pairsPerUser: 3, maxEvents: 10 });
  return { dir, train: join(dir, 'train'), eval: join(dir, 'eval'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
