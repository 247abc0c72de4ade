import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import koffi from 'koffi';
import { libraryCandidates, LibraryNotFoundError, openLibrary, type LibrarySpec } from '../../../src/backend/native/find-library.js';

const root = mkdtempSync(join(tmpdir(), 'find-library-'));
after(() => rmSync(root, { recursive: true, force: true }));
const dir = (name: string, files: string[]) => {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  for (const f of files) writeFileSync(join(d, f), 'not really a library');
  return d;
};

describe('finding native libraries', () => {
  const envDir = dir('env', ['libfake.so.1']);
  const envFile = join(dir('file', ['libother.so']), 'libother.so');
  const ldDir = dir('ld', ['libfake.so.1', 'libfake.so']);
  const extra = dir('extra', ['libfake.so.11.2', 'libfake.so.12', 'libfake.so.9']);
  const spec: LibrarySpec = { label: 'Fake', names: ['libfake.so.1', 'libfake.so.*'], envVar: 'FAKE_LIBS', dirs: [extra], hint: 'install libfake' };

  it('searches the library variable (files and folders), LD_LIBRARY_PATH, then the extra folders, newest version first', () => {
    const env = { FAKE_LIBS: `${envFile}:${envDir}`, LD_LIBRARY_PATH: ldDir };
    const { candidates, searched } = libraryCandidates(spec, env);
    const ours = candidates.filter((c) => c.path.startsWith(root));
    assert.deepEqual(ours, [
      { path: envFile, from: 'FAKE_LIBS' },
      { path: join(envDir, 'libfake.so.1'), from: 'FAKE_LIBS' },
      { path: join(ldDir, 'libfake.so.1'), from: 'LD_LIBRARY_PATH' },
      { path: join(extra, 'libfake.so.12'), from: extra },
      { path: join(extra, 'libfake.so.11.2'), from: extra },
      { path: join(extra, 'libfake.so.9'), from: extra },
    ]);
    assert.ok(searched.includes('ldconfig -p') && searched.includes('/usr/lib/x86_64-linux-gnu'), searched.join('; '));
  });

  it('with systemSearch false, searches only the variable and the extra folders', () => {
    const env = { FAKE_LIBS: envDir, LD_LIBRARY_PATH: ldDir };
    const { candidates, searched } = libraryCandidates({ ...spec, systemSearch: false }, env);
    assert.deepEqual(candidates, [
      { path: join(envDir, 'libfake.so.1'), from: 'FAKE_LIBS' },
      { path: join(extra, 'libfake.so.12'), from: extra },
      { path: join(extra, 'libfake.so.11.2'), from: extra },
      { path: join(extra, 'libfake.so.9'), from: extra },
    ]);
    assert.deepEqual(searched, [`${envDir} (FAKE_LIBS)`, extra]);
    assert.throws(() => openLibrary({ label: 'libc', names: ['libc.so.6'], hint: 'libc6', systemSearch: false }, (path) => koffi.load(path), {}), /libc not found \(looked for libc\.so\.6 in: nowhere\)/);
  });

  it('opens the first candidate that loads, and names every place and failure when none does', () => {
    const env = { FAKE_LIBS: envDir };
    const opened = openLibrary(spec, (path) => (path.endsWith('.12') ? path : null), env);
    assert.equal(opened.found.path, join(extra, 'libfake.so.12'));
    assert.throws(() => openLibrary(spec, (path) => koffi.load(path), env), (err: unknown) => {
      assert.ok(err instanceof LibraryNotFoundError);
      assert.equal(err.code, 'BACKEND_UNAVAILABLE');
      assert.match(err.message, /^Fake not found \(looked for libfake\.so\.1, libfake\.so\.\* in: .*\(FAKE_LIBS\).*ldconfig -p.*failed to load .*libfake\.so\.1: .*install libfake$/s);
      return true;
    });
  });

  it('finds and loads a real library through the linker cache (libc)', () => {
    const { handle, found } = openLibrary({ label: 'libc', names: ['libc.so.6'], hint: 'libc6' }, (path) => koffi.load(path), {});
    assert.equal(found.from, 'ldconfig');
    const getpid = handle.func('int getpid()');
    assert.equal(getpid(), process.pid);
  });
});
