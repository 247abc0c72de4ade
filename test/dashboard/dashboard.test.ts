/**
 * The dashboard in real headless Chromium against a real control server fed by a scripted job:
 * the token from the URL fragment opens the socket, steps stream in live (both workers, loss
 * curves with one point per step, checkpoints), the page reconnects after the server restarts,
 * a wrong token is explained, and a screenshot is taken.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { silentLogger } from '../../src/log.js';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import { launchChromium, type Browser } from '../../scripts/chromium.js';
import { ScriptedJob } from './scripted-job.js';

const TOKEN = 'dash-token-19c3';

const servers: ControlServer[] = [];

async function serve(job: ScriptedJob, port: number): Promise<ControlServer> {
  const server = await startControlServer({
    host: '127.0.0.1', port, token: TOKEN, metricsPublic: true, log: silentLogger,
    status: () => structuredClone(job.status), history: () => [...job.history], onControl: async () => ({ ok: true, message: 'ok' }),
  });
  servers.push(server);
  return server;
}

/** Polls in Playwright's own world: the page's CSP (script-src 'self') forbids evaluating strings in it. */
async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector, { hasText: new RegExp(`^${text.replace(/[/]/g, '\\/')}$`) }).waitFor();
}

async function attr(page: Page, selector: string, name: string): Promise<string | null> {
  return page.locator(selector).getAttribute(name);
}

describe('dashboard in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  const problems: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'instructue-dashboard-'));
    browser = await launchChromium();
    browser.context.on('weberror', (e) => problems.push(`page error: ${e.error().message}`));
    browser.context.on('console', (m) => {
      if (/Content Security Policy|Refused to/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
  });
  after(async () => {
    for (const server of servers) await server.close(); // idempotent: also those a test closed
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows both workers, loss curves with points and checkpoints, live; reconnects; screenshot', async () => {
    const job = new ScriptedJob(30, 5);
    for (let i = 0; i < 5; i++) job.advance();
    let server = await serve(job, 0);
    job.server = server;
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/#token=${TOKEN}`);
    await page.waitForSelector('#conn[data-conn="live"]');
    assert.equal(new URL(page.url()).hash, '', 'the token is removed from the address bar');

    // History from the hello, then live steps over the socket.
    await waitForText(page, '#step', '5 / 30');
    for (let i = 0; i < 10; i++) {
      job.advance();
      await sleep(30);
    }
    await waitForText(page, '#step', '15 / 30');
    for (const key of ['loss_lm', 'loss_cl', 'loss']) {
      assert.equal(await attr(page, `#chart-loss path[data-series="${key}"]`, 'data-points'), '15', key);
      assert.equal((await attr(page, `#chart-loss path[data-series="${key}"]`, 'd'))!.match(/[ML]/g)!.length, 15);
    }
    assert.equal(await attr(page, '#chart-lr path[data-series="lr"]', 'data-points'), '15');
    assert.equal(await attr(page, '#chart-tps path[data-series="tokens_per_s"]', 'data-points'), '15');

    const workerRows = page.locator('#workers tbody tr');
    assert.equal(await workerRows.count(), 2);
    const cells = async (i: number) => (await workerRows.nth(i).locator('td').allTextContents()).slice(0, 6);
    assert.deepEqual(await cells(0), ['worker-0', '0', 'training', '15', '400', '100']);
    assert.deepEqual(await cells(1), ['worker-1', '1', 'training', '15', '430', '70']);
    assert.deepEqual(await page.locator('#checkpoints tbody tr td:first-child').allTextContents(), ['15', '10', '5']);
    assert.equal(await page.textContent('#state'), 'running');
    assert.equal(await page.textContent('#loss-total'), job.status.last!.loss!.toFixed(4));

    const shot = join(dir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.deepEqual([...readFileSync(shot).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

    // The coordinator restarts on the same port: the page notices, reconnects and catches up.
    const port = server.port;
    await server.close();
    await page.waitForSelector('#conn[data-conn="offline"]');
    for (let i = 0; i < 3; i++) job.advance();
    server = await serve(job, port);
    job.server = server;
    await page.waitForSelector('#conn[data-conn="live"]', { timeout: 15_000 });
    await waitForText(page, '#step', '18 / 30');
    assert.equal(await attr(page, '#chart-loss path[data-series="loss_lm"]', 'data-points'), '18');
    await server.close();
    await page.close();
    assert.deepEqual(problems, []);
  });

  it('explains a wrong token instead of showing an empty page', async () => {
    const job = new ScriptedJob(10, 5);
    const server = await serve(job, 0);
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/#token=wrong`);
    await page.waitForSelector('#notice:not([hidden])');
    assert.match((await page.textContent('#notice'))!, /needs its control token: open this page as http:\/\/127\.0\.0\.1:\d+\/#token=<token>/);
    assert.equal(await page.locator('#workers tbody tr').count(), 0);
    await page.close();
    await server.close();
  });
});
