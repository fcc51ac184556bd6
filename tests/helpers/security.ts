/**
 * A throwaway CA, service certificates and admin token for a test file that
 * starts service processes itself (not through a local cluster): made in
 * beforeAll, removed in afterAll. `env(role)` starts a service with its
 * identity; `as(role)` dials as one (a test standing in for the scheduler).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { ensureLocalSecurity, type LocalSecurity } from '../../lib/security/local-security.js';

export function useTestSecurity(): LocalSecurity {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-test-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return ensureLocalSecurity(dir);
}
