/**
 * Makes docs/figures/dashboard.png: a real 2-worker run of the tiny config on synthetic data
 * (`instructue train --workers 2`), photographed in headless Chromium (scripts/install-chromium.sh)
 * once three quarters of its steps are done. Not part of the tests.
 *
 *   npm run build && node dist/scripts/dashboard-figure.js
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSynth } from '../src/data/synth/write.js';
import { launchChromium } from './chromium.js';

const TOKEN = 'figure-token';
const OUT = 'docs/figures/dashboard.png';

async function until<T>(what: string, read: () => Promise<T | undefined> | T | undefined, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const root = mkdtempSync(join(tmpdir(), 'instructue-figure-'));
const log = join(root, 'train.log');
writeSynth({ out: join(root, 'data'), users: 300, evalUsers: 40, shards: 2, gzip: false, seed: 7, difficulty: 0.5, pairsPerUser: 3, maxEvents: 10 });
const child = spawn(process.execPath, ['bin/instructue.js', 'train', '--workers', '2', '--config', 'configs/tiny.json', '--out', join(root, 'run'), '--data', join(root, 'data', 'train'), '--backend', 'wasm', '--json'], {
  env: { ...process.env, INSTRUCTUE_TOKEN: TOKEN, INSTRUCTUE_LOG_LEVEL: 'info' }, stdio: ['ignore', openSync(log, 'w'), openSync(log, 'a')],
});
const exited = new Promise((resolve) => child.once('exit', resolve));
const browser = await launchChromium();
try {
  const url = await until('the control server', () => readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; url?: string }).find((e) => e.msg === 'control server listening')?.url);
  const page = await browser.context.newPage();
  await page.goto(`${url}/#token=${TOKEN}`);
  await until('step 30', async () => {
    const [step] = ((await page.textContent('#step')) ?? '').split(' / ').map(Number);
    return step! >= 30 ? true : undefined;
  });
  await page.waitForTimeout(300); // let the 100 ms render batch land
  await page.screenshot({ path: OUT, fullPage: true });
  console.log(`wrote ${OUT}`);
  await exited;
} finally {
  await browser.close();
  if (child.exitCode === null) child.kill('SIGTERM');
  rmSync(root, { recursive: true, force: true });
}
