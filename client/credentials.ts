/**
 * What an SDK client or the CLI dials with when its caller says nothing: the
 * same rule everywhere, so `rivulet status` in a project directory and a
 * script using the SDK there reach the same cluster the same way.
 *
 * 1. `RIVULET_INSECURE=true`: plaintext, no credential (a cluster run with --insecure).
 * 2. The CA: `RIVULET_TLS_CA_FILE`, else `.rivulet/tls/ca.pem` (what `rivulet up` made).
 * 3. The token: `RIVULET_TOKEN`, else the file `RIVULET_TOKEN_FILE`, else
 *    `.rivulet/tls/admin.token` (`rivulet up`'s bootstrap admin token).
 * 4. A client certificate instead of (or beside) a token: `RIVULET_TLS_CERT_FILE` + `RIVULET_TLS_KEY_FILE`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../lib/errors.js';
import { ADMIN_TOKEN_FILE } from '../lib/security/local-security.js';
import { PKI_FILES } from '../lib/security/pki.js';
import type { TransportSecurity } from '../lib/security/transport.js';

export type { TransportSecurity };

/** `rivulet up`'s security directory under a project directory. */
export function localSecurityDir(cwd: string): string {
  return join(cwd, '.rivulet', 'tls');
}

function truthy(v: string | undefined): boolean {
  return v === 'true' || v === '1' || v === 'yes';
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

export function clientSecurityFromEnv(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): TransportSecurity {
  if (truthy(env.RIVULET_INSECURE)) return { insecure: true };
  const dir = localSecurityDir(cwd);
  const caFile = env.RIVULET_TLS_CA_FILE || (existsSync(join(dir, PKI_FILES.caCert)) ? join(dir, PKI_FILES.caCert) : undefined);
  if (!caFile) {
    throw new ConfigError(
      'no cluster CA certificate: set RIVULET_TLS_CA_FILE (or run in the directory where `rivulet up` made .rivulet/tls/), ' +
        'or RIVULET_INSECURE=true for a cluster started with --insecure',
    );
  }
  let token = env.RIVULET_TOKEN || undefined;
  if (!token && env.RIVULET_TOKEN_FILE) token = read(env.RIVULET_TOKEN_FILE, 'the token file').toString('utf8').trim();
  if (!token && existsSync(join(dir, ADMIN_TOKEN_FILE))) token = readFileSync(join(dir, ADMIN_TOKEN_FILE), 'utf8').trim();
  const cert = env.RIVULET_TLS_CERT_FILE ? read(env.RIVULET_TLS_CERT_FILE, 'the client certificate') : undefined;
  const key = env.RIVULET_TLS_KEY_FILE ? read(env.RIVULET_TLS_KEY_FILE, 'the client key') : undefined;
  return { insecure: false, pem: { ca: read(caFile, 'the CA certificate'), ...(cert && key ? { cert, key } : {}) }, ...(token ? { token } : {}) };
}
