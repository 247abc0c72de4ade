/**
 * @module control/static-files
 * Serves the dashboard (`dashboard/` at the repo root: plain HTML, JS and CSS, no build step).
 * Only files directly in that folder with a known type are served, so a crafted path cannot
 * reach anything else. The page carries no secret, so it loads without the token; the token
 * is needed by the socket it opens.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';

/** The repo's `dashboard/` folder, found from the compiled file (dist/src/control/ → repo root). */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Same-origin only: scripts, styles and the socket come from this server (the page works
 * offline and cannot be made to send the token elsewhere).
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * Answers `GET <pathname>` from `dir`; `/` is `index.html`. Returns false when no such
 * dashboard file exists (the caller answers 404).
 */
export async function serveDashboardFile(dir: string, pathname: string, res: ServerResponse): Promise<boolean> {
  const name = pathname === '/' ? 'index.html' : pathname.slice(1);
  const type = TYPES[extname(name)];
  if (!type || name !== basename(name) || name.startsWith('.')) return false;
  let body: Buffer;
  try {
    body = await readFile(join(dir, name));
  } catch {
    return false;
  }
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, ...SECURITY_HEADERS });
  res.end(body);
  return true;
}
