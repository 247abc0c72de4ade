/**
 * @module control/auth
 * Bearer-token checks for the control server: where a request carries its token, a
 * comparison whose time does not depend on how much of the token matched, and the rule that
 * an open (token-less) server may only listen on loopback.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PLACEHOLDER_PREFIX } from '../config/secrets.js';
import { ConfigError } from '../errors.js';

/** What a refused client is told: the three ways to present the token. */
export const TOKEN_HELP =
  'missing or wrong token: pass --token or set INSTRUCTUE_TOKEN (HTTP: "Authorization: Bearer <token>"; WebSocket: /ws?token=<token>; dashboard: open /#token=<token>)';

/**
 * Compares `given` with `expected` in constant time. Both are hashed first so that
 * `timingSafeEqual` sees equal lengths and the token's length does not leak either.
 */
export function tokenMatches(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token of `Authorization: Bearer <token>`, or null. */
export function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1]!.trim() : null;
}

/**
 * The token of a WebSocket upgrade: the header when present, else `?token=` (browsers cannot
 * set headers on a WebSocket, so the dashboard passes it in the query).
 */
export function upgradeToken(req: IncomingMessage, url: URL): string | null {
  return bearerToken(req) ?? url.searchParams.get('token');
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Refuses a server without a token on a host other machines can reach, and a token that is
 * still the placeholder shipped in k8s/ (everyone who read the repo knows it).
 */
export function checkOpenBinding(host: string, token: string | null): void {
  if (token !== null && token.startsWith(PLACEHOLDER_PREFIX)) {
    throw new ConfigError('control.token is still the placeholder from k8s/base/secrets.env: replace the instructue-secrets Secret (docs/kubernetes.md, "Credentials") and restart the coordinator');
  }
  if (token === null && !isLoopbackHost(host)) {
    throw new ConfigError(
      `control.host is ${JSON.stringify(host)} but control.token is empty: anyone who can reach that address could stop or rescale the job. ` +
        'Set INSTRUCTUE_TOKEN (control.token), or bind to 127.0.0.1 (control.host).',
    );
  }
}
