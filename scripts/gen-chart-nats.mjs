#!/usr/bin/env node
// Writes helm/rivulet/files/nats-permissions.json — the bundled NATS's users and their permissions,
// with placeholders for the release's names — from lib/security/nats-permissions.ts (through
// lib/security/nats-chart-permissions.ts), so the chart and `natsSecurityConfig` cannot drift.
// Reads dist/: run `npm run build` first. `--check` fails when the committed file is stale.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHART_NATS_PERMISSIONS_FILE, chartNatsPermissionsFile } from '../dist/lib/security/nats-chart-permissions.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = join(root, CHART_NATS_PERMISSIONS_FILE);
const text = chartNatsPermissionsFile();
if (process.argv.includes('--check')) {
  let have = '';
  try {
    have = readFileSync(target, 'utf8');
  } catch {
    // missing: stale
  }
  if (have !== text) {
    console.error(`${CHART_NATS_PERMISSIONS_FILE} is stale (run \`npm run build && npm run gen:chart-nats\`)`);
    process.exit(1);
  }
  console.log(`${CHART_NATS_PERMISSIONS_FILE} is current`);
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`wrote ${CHART_NATS_PERMISSIONS_FILE}`);
}
