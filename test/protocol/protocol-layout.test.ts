/**
 * The protocol stays in one place: msgpackr is imported by src/protocol/codec.ts only, and every
 * message the coordinator and workers build is a type of src/protocol/messages.ts (NATS) or of
 * src/control/status.ts (the coordinator's status events for the ws socket).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { it } from 'node:test';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const root = process.cwd();
const files = ['src', 'coordinator', 'worker'].flatMap((d) => sources(join(root, d)));

it('msgpackr is imported by src/protocol/codec.ts only', () => {
  const importers = files.filter((f) => /from ['"]msgpackr['"]|import\(['"]msgpackr['"]\)/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(importers.map((f) => relative(root, f)), ['src/protocol/codec.ts']);
});

it('the coordinator and worker code build only message types declared in the two protocol files', () => {
  const declaredIn = (file: string) => [...readFileSync(join(root, file), 'utf8').matchAll(/type: '([a-z.]+)'/g)].map((m) => m[1]);
  const declared = new Set([...declaredIn('src/protocol/messages.ts'), ...declaredIn('src/control/status.ts')]);
  const used = files
    .filter((f) => /src\/(coordinator|worker|protocol)\//.test(f))
    .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\{ type: '([a-z.]+)'/g)].map((m) => m[1]!));
  assert.ok(used.length > 10, 'the scan found the messages sent');
  assert.deepEqual(used.filter((t) => !declared.has(t)), []);
});
