/**
 * A throwaway certificate authority for a local cluster: `rivulet up`, the
 * tests and the benchmarks make one CA and one certificate per service role in
 * a directory, with no user step. Keys are EC P-256; certificates are made by
 * the `openssl` command (Node can parse X.509 but not issue it), which every
 * Linux and macOS machine has. A Kubernetes install gets its certificates from
 * the chart instead (helm/: generated once on install, or cert-manager).
 *
 * Identity lives in the subject (lib/security/identity.ts): services are
 * `O=rivulet-service, CN=<role>`, users with a client certificate
 * `O=rivulet-user, CN=<user>, OU=<role>`. Subject alternative names cover
 * loopback so that ordinary hostname checks pass too, but Rivulet's own check
 * is the role: executors are dialled by pod IPs no certificate could list.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_ORGANIZATION, USER_ORGANIZATION, type ServiceRole, type UserRole } from './identity.js';

/** File names of a security directory (what `rivulet up` writes to `.rivulet/tls/`). */
export const PKI_FILES = {
  caCert: 'ca.pem',
  caKey: 'ca.key',
  cert: (name: string) => `${name}.pem`,
  key: (name: string) => `${name}.key`,
} as const;

export interface IssuedFiles {
  certFile: string;
  keyFile: string;
}

function openssl(args: string[], input?: string): void {
  try {
    execFileSync('openssl', args, { stdio: ['pipe', 'ignore', 'pipe'], input });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') {
      throw new Error('making certificates needs the `openssl` command (apt-get install -y openssl), or give certificates with --tls-ca-file/--tls-cert-file/--tls-key-file', { cause: e });
    }
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString().trim() || err.message}`, { cause: e });
  }
}

function newKey(path: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  chmodSync(path, 0o600);
}

/** Escape a value for an openssl `-subj` string (`/` and `\` are separators there). */
function subjValue(v: string): string {
  return v.replace(/[\\/+,=]/g, (c) => `\\${c}`);
}

/**
 * A certificate authority in `dir` (ca.pem, ca.key): made when absent, kept
 * when present, so a restarted `rivulet up` keeps trusting what it issued.
 */
export function ensureCertificateAuthority(dir: string, days = 3650): { caFile: string; caKeyFile: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, PKI_FILES.caCert);
  const caKeyFile = join(dir, PKI_FILES.caKey);
  if (existsSync(caFile) && existsSync(caKeyFile)) return { caFile, caKeyFile };
  newKey(caKeyFile);
  openssl([
    'req', '-x509', '-new', '-key', caKeyFile, '-sha256', '-days', String(days),
    '-subj', '/O=rivulet/CN=rivulet local CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', caFile,
  ]);
  return { caFile, caKeyFile };
}

export interface IssueOptions {
  /** The certificate's subject. */
  subject: { organization: string; commonName: string; organizationalUnit?: string };
  /** Extra DNS names beside localhost. */
  dnsNames?: string[];
  /** Validity in days. @default 825 */
  days?: number;
}

/** Issue `<name>.pem` / `<name>.key` in `dir`, signed by the CA there. */
export function issueCertificate(dir: string, name: string, o: IssueOptions): IssuedFiles {
  const { caFile, caKeyFile } = ensureCertificateAuthority(dir);
  const keyFile = join(dir, PKI_FILES.key(name));
  const certFile = join(dir, PKI_FILES.cert(name));
  const csrFile = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  // Made beside and renamed into place: a service re-reading its files (rotation) never sees half a file.
  const newKeyFile = `${keyFile}.new`;
  const newCertFile = `${certFile}.new`;
  newKey(newKeyFile);
  const s = o.subject;
  const subj = `/O=${subjValue(s.organization)}${s.organizationalUnit ? `/OU=${subjValue(s.organizationalUnit)}` : ''}/CN=${subjValue(s.commonName)}`;
  openssl(['req', '-new', '-key', newKeyFile, '-subj', subj, '-out', csrFile]);
  const dns = ['localhost', ...(o.dnsNames ?? [])].map((d) => `DNS:${d}`);
  writeFileSync(
    extFile,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${[...dns, 'IP:127.0.0.1', 'IP:::1'].join(',')}`,
    ].join('\n') + '\n',
  );
  openssl([
    'x509', '-req', '-in', csrFile, '-CA', caFile, '-CAkey', caKeyFile, '-sha256',
    '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
    '-days', String(o.days ?? 825), '-extfile', extFile, '-out', newCertFile,
  ]);
  rmSync(csrFile, { force: true });
  rmSync(extFile, { force: true });
  renameSync(newKeyFile, keyFile);
  renameSync(newCertFile, certFile);
  return { certFile, keyFile };
}

/** A service's certificate: `O=rivulet-service, CN=<role>`. */
export function issueServiceCertificate(dir: string, role: ServiceRole, dnsNames: string[] = []): IssuedFiles {
  return issueCertificate(dir, role, { subject: { organization: SERVICE_ORGANIZATION, commonName: role }, dnsNames });
}

/** A user's client certificate: `O=rivulet-user, CN=<user>, OU=<role>`. */
export function issueUserCertificate(dir: string, user: string, role: UserRole): IssuedFiles {
  return issueCertificate(dir, `user-${user}`, { subject: { organization: USER_ORGANIZATION, commonName: user, organizationalUnit: role } });
}

export function readPem(path: string): Buffer {
  return readFileSync(path);
}
