/**
 * The control server, listening for real on a free loopback port, fed a fixed JobStatus:
 * token checks on HTTP and on the ws upgrade, the hello/broadcast/reply socket protocol,
 * ControlRequest validation, /metrics open or closed by config, the dashboard files, and the
 * refusal to run without a token on a non-loopback address.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import type { ControlReply, ControlRequest } from '../../src/control/status.js';
import type { SocketMessage } from '../../src/control/wire.js';
import { fixedHistory, fixedStatus, metricsAt } from './fixture-status.js';

const TOKEN = 'test-token-5f2a';

async function start(options: { token?: string | null; metricsPublic?: boolean; reply?: (r: ControlRequest) => ControlReply } = {}) {
  const requests: ControlRequest[] = [];
  const server = await startControlServer({
    host: '127.0.0.1', port: 0, token: options.token === undefined ? TOKEN : options.token, metricsPublic: options.metricsPublic ?? true,
    status: fixedStatus, history: fixedHistory, log: silentLogger,
    onControl: async (r) => {
      requests.push(r);
      if (!options.reply) return { ok: true, message: `accepted ${r.type}` };
      return options.reply(r);
    },
  });
  return { server, requests };
}

/** Opens a socket; resolves with the socket and a queue of the messages it receives, or the HTTP status of a refused upgrade. */
function connect(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; next: () => Promise<SocketMessage> } | { refused: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const inbox: SocketMessage[] = [];
    const waiting: ((m: SocketMessage) => void)[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as SocketMessage;
      const w = waiting.shift();
      if (w) w(m);
      else inbox.push(m);
    });
    const next = () => new Promise<SocketMessage>((res) => (inbox.length ? res(inbox.shift()!) : waiting.push(res)));
    ws.on('open', () => resolve({ ws, next }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ refused: res.statusCode ?? 0, body }));
    });
    ws.on('error', reject);
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'content-type': 'application/json' };

describe('control server with a token', () => {
  let server: ControlServer;
  let requests: ControlRequest[];
  before(async () => {
    ({ server, requests } = await start());
  });
  after(() => server.close());

  it('answers /healthz without a token', async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok\n');
  });

  it('refuses /api/status without or with a wrong token, saying how to pass it', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: TOKEN }] as Record<string, string>[]) {
      const res = await fetch(`${server.url}/api/status`, { headers });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="instructue"');
      assert.match(await res.text(), /pass --token or set INSTRUCTUE_TOKEN.*Authorization: Bearer <token>.*\/ws\?token=<token>/);
    }
    // The query form is for the socket only: it would end up in access logs.
    assert.equal((await fetch(`${server.url}/api/status?token=${TOKEN}`)).status, 401);
  });

  it('serves the status with the token', async () => {
    const res = await fetch(`${server.url}/api/status`, { headers: auth });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), fixedStatus());
  });

  it('runs valid control requests and rejects malformed ones without calling the coordinator', async () => {
    requests.length = 0;
    const post = (body: string, headers: Record<string, string> = json) => fetch(`${server.url}/api/control`, { method: 'POST', body, headers });
    let res = await post(JSON.stringify({ type: 'scale', workers: 3 }));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true, message: 'accepted scale' });
    res = await post(JSON.stringify({ type: 'stop' }), { 'content-type': 'application/json' });
    assert.equal(res.status, 401);
    for (const bad of ['{"type":"scale","workers":0}', '{"type":"scale","workers":1.5}', '{"type":"stop","now":true}', '{"type":"pause"}', 'stop']) {
      res = await post(bad);
      assert.equal(res.status, 400, bad);
      const reply = (await res.json()) as ControlReply;
      assert.equal(reply.ok, false);
      assert.match(reply.message, /expected \{"type":"stop"\} or \{"type":"scale","workers":N\}/);
    }
    res = await post('x'.repeat(20_000));
    assert.equal(res.status, 413);
    assert.deepEqual(requests, [{ type: 'scale', workers: 3 }]);
  });

  it('refuses the ws upgrade without a valid token', async () => {
    for (const [url, headers] of [[`${wsUrl(server)}`, {}], [`${wsUrl(server)}?token=wrong`, {}], [`${wsUrl(server)}`, { authorization: 'Bearer wrong' }]] as const) {
      const result = await connect(url, headers);
      assert.ok('refused' in result, `${url} must be refused`);
      assert.equal(result.refused, 401);
      assert.match(result.body, /pass --token or set INSTRUCTUE_TOKEN/);
    }
    const elsewhere = await connect(`${server.url.replace('http', 'ws')}/socket?token=${TOKEN}`);
    assert.ok('refused' in elsewhere && elsewhere.refused === 404);
  });

  it('sends hello, then broadcasts, and answers requests on the socket (token in the header)', async () => {
    const conn = await connect(wsUrl(server), auth);
    assert.ok('ws' in conn);
    assert.deepEqual(await conn.next(), { type: 'hello', status: fixedStatus(), history: fixedHistory() });
    server.broadcast({ type: 'metrics', line: metricsAt(13) });
    server.broadcast({ type: 'checkpoint', checkpoint: { step: 20, path: '/x', savedAt: 't' } });
    assert.deepEqual(await conn.next(), { type: 'metrics', line: metricsAt(13) });
    assert.deepEqual(await conn.next(), { type: 'checkpoint', checkpoint: { step: 20, path: '/x', savedAt: 't' } });
    requests.length = 0;
    conn.ws.send(JSON.stringify({ type: 'stop' }));
    assert.deepEqual(await conn.next(), { type: 'reply', reply: { ok: true, message: 'accepted stop' } });
    conn.ws.send('{"type":"scale"}');
    const bad = await conn.next();
    assert.ok(bad.type === 'reply' && !bad.reply.ok && /positive integer/.test(bad.reply.message));
    assert.deepEqual(requests, [{ type: 'stop' }]);
    conn.ws.close();
  });

  it('accepts the token in the query (browsers cannot set ws headers) and closes sockets on close()', async () => {
    const { server: other } = await start();
    const conn = await connect(`${wsUrl(other)}?token=${TOKEN}`);
    assert.ok('ws' in conn);
    assert.equal((await conn.next()).type, 'hello');
    const closed = new Promise<void>((resolve) => conn.ws.on('close', () => resolve()));
    await other.close();
    await closed;
    await assert.rejects(fetch(`${other.url}/healthz`));
  });

  it('serves the dashboard page without a token, and nothing outside its folder', async () => {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await page.text(), /<script type="module" src="app\.js"><\/script>/);
    assert.equal((await fetch(`${server.url}/app.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
    for (const path of ['/%2e%2e/package.json', '/..%2fpackage.json', '/missing.js', '/.hidden.js', '/index.txt']) {
      assert.equal((await fetch(`${server.url}${path}`)).status, 404, path);
    }
  });
});

describe('control server /metrics and open mode', () => {
  it('serves Prometheus text without a token when metrics_public, and only with it otherwise', async () => {
    const { server: open } = await start({ metricsPublic: true });
    const res = await fetch(`${open.url}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(await res.text(), /^instructue_step 12$/m);
    await open.close();

    const { server: closed } = await start({ metricsPublic: false });
    assert.equal((await fetch(`${closed.url}/metrics`)).status, 401);
    const authed = await fetch(`${closed.url}/metrics`, { headers: auth });
    assert.equal(authed.status, 200);
    assert.match(await authed.text(), /^instructue_loss\{kind="total"\} 1\.4$/m);
    await closed.close();
  });

  it('runs without a token on loopback (with a warning), refuses to on 0.0.0.0, and refuses the k8s placeholder token', async () => {
    const { server: open } = await start({ token: null });
    assert.equal((await fetch(`${open.url}/api/status`)).status, 200);
    const conn = await connect(wsUrl(open));
    assert.ok('ws' in conn);
    conn.ws.close();
    await open.close();
    await assert.rejects(
      startControlServer({ host: '0.0.0.0', port: 0, token: null, metricsPublic: true, status: fixedStatus, history: fixedHistory, onControl: async () => ({ ok: true, message: '' }), log: silentLogger }),
      (err: unknown) => err instanceof ConfigError && /control\.token is empty/.test(err.message) && /INSTRUCTUE_TOKEN/.test(err.message),
    );
    await assert.rejects(
      startControlServer({ host: '127.0.0.1', port: 0, token: 'CHANGE_ME-control-token', metricsPublic: true, status: fixedStatus, history: fixedHistory, onControl: async () => ({ ok: true, message: '' }), log: silentLogger }),
      (err: unknown) => err instanceof ConfigError && /still the placeholder from k8s\/base\/secrets\.env/.test(err.message),
    );
  });

  it('turns a throwing coordinator handler into a failed reply (409)', async () => {
    const { server } = await start({ reply: () => { throw new Error('scale is not supported while stopping'); } });
    const res = await fetch(`${server.url}/api/control`, { method: 'POST', body: '{"type":"scale","workers":2}', headers: json });
    assert.equal(res.status, 409);
    assert.deepEqual(await res.json(), { ok: false, message: 'scale is not supported while stopping' });
    await server.close();
  });
});

function wsUrl(server: ControlServer): string {
  return `${server.url.replace('http', 'ws')}/ws`;
}

describe('control server against other web pages', () => {
  for (const token of [TOKEN, null]) {
    it(`refuses cross-origin and non-JSON requests, and cross-origin ws upgrades (${token ? 'with' : 'without'} a token)`, async () => {
      const { server, requests } = await start({ token });
      const own = server.url;
      const headers = (extra: Record<string, string>) => ({ ...(token ? auth : {}), ...extra });
      const post = (extra: Record<string, string>) => fetch(`${server.url}/api/control`, { method: 'POST', body: '{"type":"stop"}', headers: headers(extra) });
      // A CORS "simple request" from another page, and one that claims JSON.
      assert.equal((await post({ origin: 'http://evil.example', 'content-type': 'text/plain' })).status, 403);
      assert.equal((await post({ origin: 'http://evil.example', 'content-type': 'application/json' })).status, 403);
      assert.equal((await post({ 'content-type': 'text/plain' })).status, 415);
      assert.equal((await fetch(`${server.url}/api/status`, { headers: headers({ origin: 'http://evil.example' }) })).status, 403);
      // The dashboard's own origin, and clients that send no Origin, pass.
      const same = await post({ origin: own, 'content-type': 'application/json' });
      assert.equal(same.status, 200);
      assert.equal(same.headers.get('access-control-allow-origin'), null, 'no CORS headers, ever');
      assert.deepEqual(requests, [{ type: 'stop' }]);
      const evil = await connect(`${wsUrl(server)}${token ? `?token=${token}` : ''}`, { origin: 'http://evil.example' });
      assert.ok('refused' in evil && evil.refused === 403, JSON.stringify(evil));
      const ok = await connect(`${wsUrl(server)}${token ? `?token=${token}` : ''}`, { origin: own });
      assert.ok('ws' in ok);
      ok.ws.close();
      await server.close();
    });
  }

  it('without a token, answers only loopback Host names (DNS rebinding)', async () => {
    const { server } = await start({ token: null });
    const port = new URL(server.url).port;
    const get = (host: string) => new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: Number(port), path: '/api/status', headers: { host } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(await get(`rebind.evil.example:${port}`), 403);
    assert.equal(await get(`localhost:${port}`), 200);
    assert.equal(await get(`127.0.0.1:${port}`), 200);
    await server.close();
  });
});
