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

/** The paths whose uncommitted edits change a report's numbers (docs/ holds its outputs). */
const NUMBER_SHAPING_PATHS = ['bin', 'configs', 'scripts', 'src', 'package.json', 'package-lock.json'];

/**
 * HEAD's short hash, and the files that differ from it where that changes the numbers: a report
 * made from an edited tree must not name a commit that cannot reproduce it.
 */
export function gitCommit(root = REPO_ROOT): string {
  const git = (args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  let head: string;
  try {
    head = git(['rev-parse', '--short=12', 'HEAD']).trim();
  } catch {
    return 'unknown (not a git checkout)';
  }
  const changed = git(['status', '--porcelain', '--untracked-files=no', '--', ...NUMBER_SHAPING_PATHS]).split('\n').filter(Boolean).map((l) => l.slice(3));
  if (changed.length === 0) return head;
  const named = changed.slice(0, 3).join(', ') + (changed.length > 3 ? ` and ${changed.length - 3} more` : '');
  return `${head} with uncommitted changes to ${named}`;
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
