/**
 * @module control/server
 * The coordinator's control server (node:http + `ws`): `/healthz`, Prometheus `/metrics`, the
 * dashboard page, `GET /api/status`, `POST /api/control`, and the `/ws` socket that sends a
 * `hello` (status + metrics history) and then every broadcast StatusEvent, and accepts
 * ControlRequests. Everything but `/healthz`, the page and (when public) `/metrics` needs the
 * bearer token. The server knows nothing about training: the coordinator passes `status()`,
 * `history()` and `onControl()`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { bearerToken, checkOpenBinding, TOKEN_HELP, tokenMatches, upgradeToken } from './auth.js';
import { contentTypeProblem, originProblem } from './origin.js';
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from './prometheus.js';
import { DEFAULT_DASHBOARD_DIR, serveDashboardFile } from './static-files.js';
import type { ControlReply, ControlRequest, JobStatus, MetricsLine, StatusEvent } from './status.js';
import { MAX_REQUEST_BYTES, parseControlRequest, type SocketMessage } from './wire.js';

export interface ControlServerOptions {
  host: string;
  /** 0 = any free port (see the returned `port`). */
  port: number;
  /** Bearer token; null = open (only allowed on a loopback host). */
  token: string | null;
  /** Serve `/metrics` without the token. */
  metricsPublic: boolean;
  status(): JobStatus;
  history(): MetricsLine[];
  onControl(req: ControlRequest): Promise<ControlReply>;
  log: Logger;
  /** Folder of the dashboard files (default: the repo's `dashboard/`). */
  dashboardDir?: string;
}

export interface ControlServer {
  /** `http://HOST:PORT` (the dashboard is at `/`, the socket at `/ws`). */
  url: string;
  port: number;
  /** Sends `event` to every connected socket. */
  broadcast(event: StatusEvent): void;
  /** Closes every socket and stops listening (idempotent). */
  close(): Promise<void>;
}

/**
 * A socket whose unsent backlog passes this is too slow for the stream (a stalled browser
 * tab); it is dropped rather than letting the coordinator's memory grow. It reconnects and
 * gets a fresh `hello`.
 */
const MAX_SOCKET_BACKLOG = 8 * 1024 * 1024;

/** Starts listening; rejects with ConfigError for an open server on a non-loopback host. */
export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  checkOpenBinding(opts.host, opts.token);
  const log = opts.log.child({ component: 'control' });
  const dashboardDir = opts.dashboardDir ?? DEFAULT_DASHBOARD_DIR;
  const authorized = (given: string | null) => opts.token === null || tokenMatches(given, opts.token);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BYTES });

  const server = createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      log.error('control request failed', { url: req.url, error: describeError(err) });
      if (!res.headersSent) sendText(res, 500, `internal error: ${describeError(err)}`);
      else res.destroy();
    });
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://control');
    const route = `${req.method} ${url.pathname}`;
    const crossSite = originProblem(req, opts.token === null);
    if (crossSite) {
      log.warn('refused a cross-origin request', { route, origin: req.headers.origin, host: req.headers.host });
      return sendText(res, 403, crossSite);
    }
    if (route === 'GET /healthz') return sendText(res, 200, 'ok');
    if (route === 'GET /metrics') {
      if (!opts.metricsPublic && !authorized(bearerToken(req))) return refuse(res);
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
      res.end(renderMetrics(opts.status()));
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      if (!authorized(bearerToken(req))) return refuse(res);
      if (route === 'GET /api/status') return sendJson(res, 200, opts.status());
      if (route === 'POST /api/control') return handleControlPost(req, res);
      return sendText(res, 404, `no such API route: ${route} (GET /api/status, POST /api/control)`);
    }
    if (req.method === 'GET' && (await serveDashboardFile(dashboardDir, url.pathname, res))) return;
    sendText(res, 404, `not found: ${route}`);
  }

  async function handleControlPost(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const wrongType = contentTypeProblem(req);
    if (wrongType) return sendText(res, 415, wrongType);
    const body = await readBody(req);
    if (body === null) return sendText(res, 413, `request body over ${MAX_REQUEST_BYTES} bytes`);
    const parsed = parseControlRequest(body);
    if ('error' in parsed) return sendJson(res, 400, { ok: false, message: parsed.error } satisfies ControlReply);
    const reply = await control(parsed);
    sendJson(res, reply.ok ? 200 : 409, reply);
  }

  /** Runs one ControlRequest; a throwing handler becomes a failed reply, not a crash. */
  async function control(req: ControlRequest): Promise<ControlReply> {
    log.info('control request', { request: req });
    try {
      return await opts.onControl(req);
    } catch (err) {
      log.warn('control request failed', { request: req, error: describeError(err) });
      return { ok: false, message: describeError(err) };
    }
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://control');
    if (url.pathname !== '/ws') return rejectUpgrade(socket, 404, 'Not Found', 'the status socket is /ws');
    const crossSite = originProblem(req, opts.token === null);
    if (crossSite) {
      log.warn('refused a cross-origin ws connection', { origin: req.headers.origin, host: req.headers.host });
      return rejectUpgrade(socket, 403, 'Forbidden', crossSite);
    }
    if (!authorized(upgradeToken(req, url))) {
      log.warn('refused a ws connection without a valid token', { remote: req.socket.remoteAddress });
      return rejectUpgrade(socket, 401, 'Unauthorized', TOKEN_HELP);
    }
    wss.handleUpgrade(req, socket, head, (ws) => onSocket(ws));
  });

  function onSocket(ws: WebSocket): void {
    send(ws, { type: 'hello', status: opts.status(), history: opts.history() });
    ws.on('message', (data, isBinary) => {
      const parsed = isBinary ? { error: 'send ControlRequests as JSON text' } : parseControlRequest(data.toString());
      const answer = 'error' in parsed ? Promise.resolve({ ok: false, message: parsed.error }) : control(parsed);
      void answer.then((reply) => send(ws, { type: 'reply', reply }));
    });
    ws.on('error', (err) => log.debug('ws client error', { error: err.message }));
  }

  function send(ws: WebSocket, message: SocketMessage): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_SOCKET_BACKLOG) {
      log.warn('dropping a ws client that is not reading', { backlog: ws.bufferedAmount });
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify(message));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  if (opts.token === null) log.warn('CONTROL SERVER IS OPEN: no control.token is set, so anyone on this machine can stop or rescale the job; set INSTRUCTUE_TOKEN', { url });
  log.info('control server listening', { url, dashboard: `${url}/`, metrics: `${url}/metrics`, metricsPublic: opts.metricsPublic });

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    broadcast(event) {
      for (const ws of wss.clients) send(ws, event);
    },
    close() {
      closing ??= (async () => {
        for (const ws of wss.clients) ws.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}

function refuse(res: ServerResponse): void {
  res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="instructue"' });
  res.end(TOKEN_HELP + '\n');
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}

/** Reads a small body; null when it passes MAX_REQUEST_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Answers a refused upgrade with a plain HTTP response, then closes the socket. */
function rejectUpgrade(socket: Duplex, status: number, reason: string, message: string): void {
  const body = message + '\n';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
