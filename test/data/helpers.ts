/**
 * Shared fixtures of the data tests: small valid records and temporary folders.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UserQARecord } from '../../src/data/types.js';

/** A small valid record whose fields depend on `i`. */
export function record(i: number, instruction: string | null = `question ${i}?`): UserQARecord {
  return {
    user_id: `user${i}`,
    sources: {
      bill: [{ ts: '2024-01-02', amount: 10 + i, item: 'a burger meal', category: 'fast food', channel: 'mobile wallet' }],
      minipro: [],
      spm: [{ ts: '2024-01-03', page: 'games', element: 'top-up offer' }],
      search: [{ ts: '2024-01-04', text: `query ${i}` }],
    },
    tabular: { age_band: '25-34', monthly_income: 8000 + i },
    instruction,
    answer: `answer ${i}`,
  };
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `instructue-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
