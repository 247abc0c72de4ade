/**
 * @module scripts/allreduce-summary
 * Medians over several saved outputs of `node dist/bench/allreduce.js` (one run per file): for
 * each server count, worker count and size, the median busbw and the median of each run's
 * busbw/raw ratios. One run's ratio moves with the machine's load (raw and the all-reduce are
 * measured a minute apart), so docs/collectives.md quotes medians over runs.
 *
 *   node dist/scripts/allreduce-summary.js docs/bench-runs/2026-12-01-allreduce/saxpy/*.txt
 */
import { readFileSync } from 'node:fs';

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const cells = new Map<string, { busbw: number[]; natsjs: number[]; wire: number[] }>();
const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: allreduce-summary FILE... (outputs of dist/bench/allreduce.js)');
for (const file of files) {
  let servers = '';
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const section = /^### (\d+) nats-server/.exec(line);
    if (section) servers = section[1]!;
    // | workers | size | time min / median | busbw best / median | ÷ raw nats.js | ÷ raw wire | …
    const row = /^\| (\d+) \| (\d+) \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|/.exec(line);
    if (!row || !servers) continue;
    const key = `${servers} server(s), ${row[1]} workers, ${row[2]} MiB`;
    const cell = cells.get(key) ?? { busbw: [], natsjs: [], wire: [] };
    cell.busbw.push(Number(row[3]));
    cell.natsjs.push(Number(row[4]));
    cell.wire.push(Number(row[5]));
    cells.set(key, cell);
  }
}
process.stdout.write(`${files.length} file(s)\n| cell | runs | busbw MB/s (median) | ÷ raw nats.js: median (each run) | ÷ raw wire: median |\n|---|---|---|---|---|\n`);
for (const [key, c] of cells) {
  process.stdout.write(`| ${key} | ${c.busbw.length} | ${median(c.busbw).toFixed(1)} | ${median(c.natsjs).toFixed(2)} (${c.natsjs.join(', ')}) | ${median(c.wire).toFixed(2)} |\n`);
}
