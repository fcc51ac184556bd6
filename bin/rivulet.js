#!/usr/bin/env node
// The `rivulet` command: a thin shim over the compiled CLI (dist/cli/main.js),
// so the command starts without a TypeScript loader.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('rivulet: the CLI is not built yet: run `npm run build` in the repository first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv);
// gRPC channels and unref'ed children must not keep a finished command alive.
process.exit(code);
