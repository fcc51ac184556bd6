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
// gRPC channels and unref'ed children must not keep a finished command alive,
// so exit explicitly — but only once stdout and stderr are flushed: to a pipe
// they are written asynchronously, and exiting earlier cut piped output
// (`rivulet status --json | head -c 1000000`) at the pipe's buffer size.
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);

/** Resolves once everything written to `stream` so far is handed to the OS (or the reader has gone away). */
function flushed(stream) {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    // EPIPE: the reader closed the pipe (`| head -c 10`); nothing more can be delivered.
    stream.once('error', () => resolve());
    // Writes complete in order: this callback runs after every earlier write.
    stream.write('', () => resolve());
  });
}
