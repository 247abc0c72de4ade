/**
 * @module eval/report/versions
 * What produced a report: instructue's version and git commit, Node, tfjs and the backend. Shown
 * in results.md; not compared by `report --check` (a rerun on a later commit must still match).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tf } from '../../backend/tf.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** Versions of everything that shapes the numbers. */
export function reportVersions(backend: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { version: string };
  return {
    instructue: pkg.version,
    commit: gitCommit(),
    node: process.version,
    tfjs: (tf.version as Record<string, string>)['tfjs-core'] ?? 'unknown',
    backend,
  };
}
