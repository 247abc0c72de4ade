/**
 * @module control/origin
 * Browser-facing checks of the control server, so no other web page can drive a job through the
 * user's browser (a cross-site POST of `Content-Type: text/plain` is a CORS "simple request" that
 * needs no preflight, and a cross-site WebSocket upgrade is never blocked by the browser):
 * - a request that carries an `Origin` must come from the server's own origin (the dashboard);
 * - state-changing POSTs must be `Content-Type: application/json` (not sendable cross-site
 *   without a preflight, which this server never answers: it sends no CORS headers);
 * - without a token, the `Host` must be a loopback name (against DNS rebinding, where a hostile
 *   name resolves to 127.0.0.1 and the page becomes "same-origin").
 * Non-browser clients (`instructue status`, curl, Prometheus) send no Origin and pass.
 */
import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from './auth.js';

/** Null when the request may proceed, else why it is refused (answered with 403). */
export function originProblem(req: IncomingMessage, open: boolean): string | null {
  const host = req.headers.host ?? '';
  if (open && host && !isLoopbackHost(hostName(host))) {
    return `refused: Host ${JSON.stringify(host)} is not a loopback name, and this control server has no token (set INSTRUCTUE_TOKEN to serve other names)`;
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`) {
    return `refused: cross-origin request from ${origin} (only the dashboard served by this server may call it)`;
  }
  return null;
}

/** Null when a POST body may be read as a control request, else why not (answered with 415). */
export function contentTypeProblem(req: IncomingMessage): string | null {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' ? null : `send control requests as Content-Type: application/json (got ${JSON.stringify(type || 'none')})`;
}

/** `127.0.0.1:8080` → `127.0.0.1`; `[::1]:8080` → `::1`. */
function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon > 0 ? host.slice(0, colon) : host;
}
