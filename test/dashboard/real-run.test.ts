/**
 * The dashboard in headless Chromium during a real 2-worker run: `instructue train --workers 2`
 * as a child process (nats-server, coordinator, two worker processes), the page opened with
 * the token from the environment. While it trains the page shows both workers with their
 * ranks and a loss curve whose points match RUN/metrics.jsonl; at the end it shows the job
 * done with the final checkpoint. A screenshot is taken.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { readJsonLines } from '../../src/train/run-dir.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';
import { launchChromium, type Browser } from '../../scripts/chromium.js';
import { controlUrl } from '../helpers/control-url.js';

const TOKEN = 'real-run-token-8d1';


async function poll<T>(what: string, read: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? '';

describe('dashboard during a real 2-worker run', () => {
  let data: SynthData;
  let root: string;
  let browser: Browser;
  before(async () => {
    data = synthData(300, 31);
    root = mkdtempSync(join(tmpdir(), 'instructue-dash-run-'));
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
    data.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('shows both workers and the live loss curve, then the finished job', async () => {
    const out = join(root, 'run');
    const log = join(root, 'train.log');
    const fd = openSync(log, 'w');
    const child = spawn(process.execPath, ['bin/instructue.js', 'train', '--workers', '2', '--config', 'configs/tiny.json', '--out', out, '--data', data.train, '--backend', 'wasm', '--json'], {
      env: { ...process.env, INSTRUCTUE_TOKEN: TOKEN, INSTRUCTUE_LOG_LEVEL: 'info' }, stdio: ['ignore', fd, fd],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await poll('the control server address in the log', () => controlUrl(log), 30_000);
      const page = await browser.context.newPage();
      await page.goto(`${url}/#token=${TOKEN}`);

      // Live: both workers training with ranks 0 and 1, and a loss curve with several points.
      await poll('both workers training and 5 loss points', async () => {
        const states = await page.locator('#workers tbody tr td:nth-child(3)').allTextContents();
        const points = Number(await page.locator('#chart-loss path[data-series="loss_lm"]').getAttribute('data-points', { timeout: 100 }).catch(() => '0'));
        return states.length === 2 && states.every((s) => s === 'training') && points >= 5 ? true : undefined;
      }, 60_000);
      const ranks = await page.locator('#workers tbody tr td:nth-child(2)').allTextContents();
      assert.deepEqual(ranks, ['0', '1']);
      const ids = await page.locator('#workers tbody tr td:first-child').allTextContents();
      assert.equal(new Set(ids).size, 2);
      await page.screenshot({ path: join(root, 'dashboard-live.png'), fullPage: true });

      // The end: the page shows the job done, every logged step on the curve, the final checkpoint.
      await poll('the page to show the job done', async () => ((await text(page, '#state')) === 'done' ? true : undefined), 90_000);
      assert.equal(await exited, 0, readFileSync(log, 'utf8').split('\n').slice(-10).join('\n'));
      const metrics = readJsonLines<{ step: number; loss_lm: number; loss: number }>(join(out, 'metrics.jsonl'));
      const last = metrics.at(-1)!;
      assert.equal(await text(page, '#step'), `${last.step} / ${last.step}`);
      assert.equal(await page.locator('#chart-loss path[data-series="loss_lm"]').getAttribute('data-points'), String(metrics.length));
      assert.equal(await text(page, '#loss-lm'), last.loss_lm.toFixed(4));
      assert.equal((await page.locator('#checkpoints tbody tr td:first-child').allTextContents())[0], String(last.step));
      await page.screenshot({ path: join(root, 'dashboard-done.png'), fullPage: true });
      await page.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    }
  });
});
