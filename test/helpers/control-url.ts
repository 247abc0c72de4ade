/**
 * Test helper: the control server's address, read from the coordinator's JSON log
 * ("control server listening" line).
 */
import { readFileSync } from 'node:fs';

export function controlUrl(log: string): string | undefined {
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    if (entry.msg === 'control server listening' && entry.url) return entry.url;
  }
  return undefined;
}
