/**
 * @module transport/path-lookup
 * Finding an executable on PATH, as a shell would (first executable match wins).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The full path of executable `name` on PATH, or null. */
export function whichOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}
