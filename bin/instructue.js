#!/usr/bin/env node
// Entry point of the `instructue` command: runs the compiled CLI (npm run build first).
import { existsSync } from 'node:fs';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('instructue is not built yet: run `npm run build` (or scripts/setup.sh) first.');
  process.exit(1);
}
await import(main.href);
