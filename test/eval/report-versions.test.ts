/**
 * The commit a report names: HEAD alone for a clean tree, HEAD plus the edited files when a file
 * that shapes the numbers differs from it (a real git repository in a temp folder).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gitCommit } from '../../src/eval/report/versions.js';

describe('report versions: the commit', () => {
  const root = mkdtempSync(join(tmpdir(), 'instructue-report-versions-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@localhost', ...args], { cwd: root, encoding: 'utf8' }).trim();

  it('is "unknown" outside a git checkout', () => {
    assert.equal(gitCommit(root), 'unknown (not a git checkout)');
  });

  it('names HEAD for a clean tree or edited outputs, and lists edited configs or sources', () => {
    mkdirSync(join(root, 'configs'));
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'configs', 'small.json'), '{"max_len": 24}\n');
    writeFileSync(join(root, 'docs', 'results.md'), 'old\n');
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'first');
    const head = git('rev-parse', '--short=12', 'HEAD');
    assert.match(head, /^[0-9a-f]{12}$/);
    assert.equal(gitCommit(root), head);
    writeFileSync(join(root, 'docs', 'results.md'), 'new\n');
    writeFileSync(join(root, 'untracked.txt'), 'x\n');
    assert.equal(gitCommit(root), head, 'the report\'s own outputs and untracked files do not count');
    writeFileSync(join(root, 'configs', 'small.json'), '{"max_len": 32}\n');
    assert.equal(gitCommit(root), `${head} with uncommitted changes to configs/small.json`);
  });
});
