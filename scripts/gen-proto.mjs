#!/usr/bin/env node
// Generates the TypeScript types of the wire contract (proto/) into lib/proto/gen.
// `--check` regenerates into a temporary folder and fails when the committed
// types differ, so a proto change can't land without its types.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const protoRoot = join(root, 'proto');
const target = join(root, 'lib/proto/gen');
const check = process.argv.includes('--check');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const protos = walk(protoRoot).filter((p) => p.endsWith('.proto')).map((p) => relative(protoRoot, p)).sort();
const outDir = check ? mkdtempSync(join(tmpdir(), 'rivulet-proto-')) : target;
if (!check) rmSync(target, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules/@grpc/proto-loader/build/bin/proto-loader-gen-types.js'),
    // Files first: -I is an array option and would swallow them.
    ...protos,
    '--longs=Number', '--enums=String', '--defaults', '--oneofs', '--includeComments',
    '--grpcLib=@grpc/grpc-js', '--importFileExtension=.js',
    // Relative include path, run from the repo root: the generated headers
    // name the .proto file, and must not depend on where the clone lives.
    `--outDir=${outDir}`, '-I', 'proto',
  ],
  { stdio: ['ignore', 'inherit', 'inherit'], cwd: root },
);

if (check) {
  const listing = (dir) => walk(dir).map((p) => relative(dir, p)).sort();
  const want = listing(outDir);
  const have = listing(target);
  const stale = want.filter((f) => !have.includes(f) || readFileSync(join(outDir, f), 'utf8') !== readFileSync(join(target, f), 'utf8'));
  const extra = have.filter((f) => !want.includes(f));
  rmSync(outDir, { recursive: true, force: true });
  if (stale.length || extra.length) {
    console.error(`lib/proto/gen is stale (run \`npm run gen:proto\`): ${[...stale, ...extra].join(', ')}`);
    process.exit(1);
  }
  console.log(`lib/proto/gen is current (${want.length} files)`);
}
