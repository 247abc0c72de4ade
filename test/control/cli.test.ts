/**
 * `instructue status|stop|scale` against a real control server: table and JSON output, the
 * token from the flag or INSTRUCTUE_TOKEN, --watch following the socket to the end of the job,
 * and the errors people hit (no token, wrong token, nothing listening, no --url).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import scale from '../../src/cli/commands/scale.js';
import status from '../../src/cli/commands/status.js';
import stop from '../../src/cli/commands/stop.js';
import type { Command } from '../../src/cli/command.js';
import { formatStatus } from '../../src/control/format-status.js';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import type { ControlRequest, JobStatus } from '../../src/control/status.js';
import { InstructueError, UsageError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { fixedHistory, fixedStatus, NOW } from './fixture-status.js';

const TOKEN = 'cli-token-77';

/** Runs a command in this process, collecting what it prints into `out` (readable while it runs). */
async function run(command: Command, argv: string[], out: string[] = []): Promise<{ code: number; out: string[] }> {
  const log = console.log;
  console.log = (...args: unknown[]) => out.push(args.join(' '));
  try {
    return { code: await command.run(argv), out };
  } finally {
    console.log = log;
  }
}

describe('status, stop and scale commands', () => {
  let server: ControlServer;
  let current: JobStatus;
  const requests: ControlRequest[] = [];
  before(async () => {
    // The commands fall back to these; a developer's shell must not change what is tested.
    delete process.env.INSTRUCTUE_TOKEN;
    delete process.env.INSTRUCTUE_URL;
    server = await startControlServer({
      host: '127.0.0.1', port: 0, token: TOKEN, metricsPublic: true, log: silentLogger, history: fixedHistory,
      // lastSeen follows the clock so that the "last seen" column reads "now" whenever the test runs.
      status: () => ({ ...current, workers: current.workers.map((w) => ({ ...w, lastSeen: Date.now() - 300 })) }),
      onControl: async (r) => {
        requests.push(r);
        return r.type === 'scale' && r.workers > 16 ? { ok: false, message: 'at most 16 workers (data.virtual_shards)' } : { ok: true, message: `${r.type} accepted` };
      },
    });
  });
  after(() => server.close());

  it('prints the status as a table and as JSON', async () => {
    current = fixedStatus();
    const table = await run(status, ['--url', server.url, '--token', TOKEN]);
    assert.equal(table.code, 0);
    const expected = { ...current, workers: current.workers.map((w) => ({ ...w, lastSeen: NOW - 300 })) };
    assert.deepEqual(table.out, [formatStatus(expected, NOW)]);
    const json = await run(status, ['--url', `${server.url}/`, '--token', TOKEN, '--json']);
    const parsed = JSON.parse(json.out[0]!) as JobStatus;
    assert.deepEqual({ ...parsed, workers: parsed.workers.map((w) => ({ ...w, lastSeen: 0 })) }, { ...current, workers: current.workers.map((w) => ({ ...w, lastSeen: 0 })) });
  });

  it('formats a status whole: summary, worker rows, last checkpoint', () => {
    assert.equal(formatStatus(fixedStatus(), NOW), [
      'job tiny-test: running, step 12/40 (30%), membership epoch 3, workers 2/2',
      'loss 1.4000 (lm 1.2000, cl 0.2000), lr 3.00e-3, tokens/s 1012, data epoch 0',
      'started 2026-11-26T12:00:00.000Z',
      '',
      'worker    rank  state     step  compute ms  wait ms  backend  host:pid    last seen',
      'worker-0  0     training  12    410         95       wasm     node-a:101  now',
      'worker-1  1     training  12    498         7        wasm     node-b:202  5 s ago',
      '',
      'last checkpoint: step 10 at /data/run/checkpoints/step-00000010 (2026-11-26T12:00:20.000Z)',
    ].join('\n'));
  });

  it('sends stop and scale, taking the token from INSTRUCTUE_TOKEN, and exits 1 when refused', async () => {
    requests.length = 0;
    process.env.INSTRUCTUE_TOKEN = TOKEN;
    try {
      assert.deepEqual(await run(stop, ['--url', server.url]), { code: 0, out: ['stop accepted'] });
      assert.deepEqual(await run(scale, ['--url', server.url, '--workers', '3', '--json']), { code: 0, out: ['{"ok":true,"message":"scale accepted"}'] });
      assert.deepEqual(await run(scale, ['--url', server.url, '--workers', '40']), { code: 1, out: ['at most 16 workers (data.virtual_shards)'] });
    } finally {
      delete process.env.INSTRUCTUE_TOKEN;
    }
    assert.deepEqual(requests, [{ type: 'stop' }, { type: 'scale', workers: 3 }, { type: 'scale', workers: 40 }]);
    await assert.rejects(run(scale, ['--url', server.url, '--workers', '0', '--token', TOKEN]), (e: unknown) => e instanceof UsageError && /at least 1/.test(e.message));
  });

  it('--watch follows the socket until the job is done', async () => {
    current = fixedStatus();
    const out: string[] = [];
    const watching = run(status, ['--url', server.url, '--token', TOKEN, '--watch', '--json'], out);
    // Finish the job once its hello has arrived (the first JSON line).
    for (let i = 0; i < 500 && out.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const done: JobStatus = { ...fixedStatus(), state: 'done', step: 40 };
    server.broadcast({ type: 'metrics', line: { step: 40, loss: 0.5 } });
    server.broadcast({ type: 'status', status: done });
    const result = await watching;
    assert.equal(result.code, 0);
    const messages = result.out.map((l) => JSON.parse(l) as { type: string });
    assert.deepEqual(messages.map((m) => m.type), ['hello', 'metrics', 'status']);
    assert.deepEqual(messages[2], { type: 'status', status: done });
  });

  it('says what to do when the token is missing or wrong, or nothing listens', async () => {
    const authFailure = (e: unknown) => e instanceof InstructueError && e.code === 'AUTH_REFUSED' && /pass --token or set INSTRUCTUE_TOKEN/.test(e.message);
    await assert.rejects(run(status, ['--url', server.url]), authFailure);
    await assert.rejects(run(status, ['--url', server.url, '--token', 'wrong']), (e: unknown) => authFailure(e) && /refused the token/.test((e as Error).message));
    await assert.rejects(run(status, ['--url', server.url, '--watch']), authFailure);
    await assert.rejects(run(stop, ['--url', server.url]), authFailure);

    const gone = await startControlServer({ host: '127.0.0.1', port: 0, token: TOKEN, metricsPublic: true, log: silentLogger, status: fixedStatus, history: fixedHistory, onControl: async () => ({ ok: true, message: '' }) });
    await gone.close();
    const refused = (e: unknown) => e instanceof InstructueError && e.message.includes(`(ECONNREFUSED): is the coordinator running? (${gone.url})`);
    await assert.rejects(run(status, ['--url', gone.url, '--token', TOKEN]), refused);
    await assert.rejects(run(status, ['--url', gone.url, '--token', TOKEN, '--watch']), refused);
    await assert.rejects(run(status, []), (e: unknown) => e instanceof UsageError && /missing --url \(or INSTRUCTUE_URL\)/.test(e.message));
    await assert.rejects(run(status, ['--url', 'ftp://x']), (e: unknown) => e instanceof UsageError && /http:\/\//.test(e.message));
  });
});
