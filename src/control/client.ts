/**
 * @module control/client
 * The client side of the control server, used by `instructue status|stop|scale`: fetch the
 * status, send a ControlRequest, stream the socket. Network and auth failures become typed
 * errors whose message says what to do (start the coordinator, fix the URL, pass the token).
 */
import WebSocket from 'ws';
import { InstructueError, UsageError } from '../errors.js';
import type { ControlReply, ControlRequest, JobStatus } from './status.js';
import type { SocketMessage } from './wire.js';

export interface ControlTarget {
  /** `http://HOST:PORT` of the coordinator's control server. */
  url: string;
  token: string | null;
}

const REQUEST_TIMEOUT_MS = 10_000;
const AUTH_HELP = 'pass --token or set INSTRUCTUE_TOKEN (the value of the coordinator\'s control.token)';

/** Flags shared by `status`, `stop` and `scale`. */
export const TARGET_USAGE = `  --url URL      the coordinator's control address, e.g. http://127.0.0.1:8080 (env INSTRUCTUE_URL)
  --token T      bearer token (env INSTRUCTUE_TOKEN; prefer the env: flags show up in ps)`;

/** The target from `--url`/`--token`, falling back to INSTRUCTUE_URL / INSTRUCTUE_TOKEN. */
export function targetFromFlags(url: string | undefined, token: string | undefined, usage: string, env: NodeJS.ProcessEnv = process.env): ControlTarget {
  const address = url ?? env.INSTRUCTUE_URL;
  if (!address) throw new UsageError(`missing --url (or INSTRUCTUE_URL): the coordinator logs its control address at start-up\n\n${usage}`);
  return controlTarget(address, token ?? env.INSTRUCTUE_TOKEN);
}

/** Checks and normalises a control address (no trailing slash). */
export function controlTarget(url: string, token: string | null | undefined): ControlTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url must be the coordinator's control address such as http://127.0.0.1:8080; got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url must start with http:// or https://; got ${JSON.stringify(url)}`);
  return { url: parsed.origin + parsed.pathname.replace(/\/+$/, ''), token: token ? token : null };
}

/** GET /api/status. */
export async function fetchStatus(target: ControlTarget): Promise<JobStatus> {
  const res = await request(target, '/api/status', { method: 'GET' });
  if (!res.ok) throw new InstructueError('USAGE', `GET /api/status answered ${res.status}: ${(await res.text()).trim()}`);
  return (await res.json()) as JobStatus;
}

/** POST /api/control; resolves to the coordinator's reply, also when it refused (ok: false). */
export async function sendControl(target: ControlTarget, req: ControlRequest): Promise<ControlReply> {
  const res = await request(target, '/api/control', { method: 'POST', body: JSON.stringify(req), headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  try {
    return JSON.parse(text) as ControlReply;
  } catch {
    throw new InstructueError('USAGE', `POST /api/control answered ${res.status}: ${text.trim()}`);
  }
}

/**
 * Streams the socket: calls `onMessage` for the hello and every later message; resolves when
 * the server closes the socket (or `stop()` is called).
 */
export function watchSocket(target: ControlTarget, onMessage: (m: SocketMessage, stop: () => void) => void): Promise<void> {
  const wsUrl = target.url.replace(/^http/, 'ws') + '/ws';
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers: target.token ? { authorization: `Bearer ${target.token}` } : {}, handshakeTimeout: REQUEST_TIMEOUT_MS });
    const stop = () => ws.close();
    ws.on('unexpected-response', (_req, res) => {
      reject(res.statusCode === 401 ? authError(target) : new InstructueError('USAGE', `${wsUrl} answered HTTP ${res.statusCode}: is this the coordinator's control address?`));
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => reject(networkError(target, err)));
    ws.on('message', (data) => onMessage(JSON.parse(data.toString()) as SocketMessage, stop));
    ws.on('close', () => resolve());
  });
}

async function request(target: ControlTarget, path: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers);
  if (target.token) headers.set('authorization', `Bearer ${target.token}`);
  let res: Response;
  try {
    res = await fetch(target.url + path, { ...init, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (err) {
    throw networkError(target, err);
  }
  if (res.status === 401) {
    await res.body?.cancel();
    throw authError(target);
  }
  return res;
}

function authError(target: ControlTarget): InstructueError {
  const what = target.token ? 'refused the token' : 'needs a token';
  return new InstructueError('AUTH_REFUSED', `the coordinator at ${target.url} ${what}: ${AUTH_HELP}`);
}

/** fetch and ws report the OS error code in different places (`cause.code` vs `code`). */
function networkError(target: ControlTarget, err: unknown): InstructueError {
  const e = err as { name?: string; code?: string; cause?: { code?: string }; message?: string };
  const code = e.cause?.code ?? e.code ?? (e.name === 'TimeoutError' ? 'timed out' : e.message ?? String(err));
  return new InstructueError('USAGE', `cannot reach the coordinator at ${target.url} (${code}): is the coordinator running? (${target.url})`, { cause: err });
}
