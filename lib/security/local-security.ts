/**
 * Security material for a cluster on this machine (lib/cluster/local-cluster.ts:
 * `rivulet up`, tests, benchmarks): a CA, one certificate per service role and
 * a bootstrap admin token, in one directory, and the environment each service
 * is started with to use them.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate, issueServiceCertificate, PKI_FILES, ensureCertificateAuthority } from './pki.js';
import { DEFAULT_NATS_NAMES, natsClusterConfig, natsSecurityConfig, type NatsClusterNode, type NatsPermissions } from './nats-permissions.js';
import { SERVICE_ROLES, type ServiceRole } from './identity.js';
import type { TransportSecurity } from './transport.js';

export const ADMIN_TOKEN_FILE = 'admin.token';
/** The NATS server's own certificate: its CN names no service, so it cannot act as one over gRPC. */
const NATS_SERVER_CERT = 'nats-server';

export interface LocalSecurity {
  /** Where the CA, certificates and admin token are. */
  dir: string;
  /** RIVULET_* variables that make a service of `role` use its certificate and the admin token. */
  env(role: ServiceRole): Record<string, string>;
  /** What an admin client dials with: the CA and the bootstrap admin token. */
  admin(): TransportSecurity;
  /** A client with this token (and the CA). */
  withToken(token: string): TransportSecurity;
  /** What a service of `role` dials with (tests that stand in for one service against another). */
  as(role: ServiceRole): TransportSecurity;
  /** The CA certificate (PEM). */
  caPem(): Buffer;
  /** A nats-server configuration file requiring these certificates, with a user per service (lib/security/nats-permissions.ts). */
  natsConfigFile(nats?: LocalNatsAccess): string;
  /**
   * natsConfigFile's content plus the `cluster` block of one server of a NATS
   * cluster, its routes over mutual TLS with the NATS servers' certificate
   * (lib/security/nats-permissions.ts natsClusterConfig), in `nats-<serverName>.conf`.
   */
  natsClusterConfigFile(serverName: string, node: Omit<NatsClusterNode, 'tls'>, nats?: LocalNatsAccess): string;
  /**
   * The certificate of a NATS user that is not a service (LocalNatsAccess.users):
   * `CN=<name>,O=rivulet-nats-client`, issued on first use.
   */
  natsClientTls(name: string): { certFile: string; keyFile: string; caFile: string };
}

/** Who else may use the cluster's NATS, and which JetStream streams jobs may read (nats-permissions.ts sourceStreams). */
export interface LocalNatsAccess {
  sourceStreams?: readonly string[];
  /** NATS users besides the services, each with a certificate from natsClientTls(name). */
  users?: ReadonlyArray<{ name: string; permissions: NatsPermissions }>;
}

/** The organization of natsClientTls certificates: no service, no Rivulet user. */
const NATS_CLIENT_ORGANIZATION = 'rivulet-nats-client';

/**
 * Make (or reuse, when present) the material in `dir`: the CA, a certificate
 * for every service role, and the admin token. Reusing keeps clients that
 * already trust the CA working across restarts of `rivulet up`.
 */
export function ensureLocalSecurity(dir: string): LocalSecurity {
  const { caFile } = ensureCertificateAuthority(dir);
  for (const role of SERVICE_ROLES) {
    if (!existsSync(join(dir, PKI_FILES.cert(role))) || !existsSync(join(dir, PKI_FILES.key(role)))) issueServiceCertificate(dir, role);
  }
  const tokenFile = join(dir, ADMIN_TOKEN_FILE);
  // The bootstrap token is not an rvt_ token (those are looked up by id); 256 random bits all the same.
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, `rva_${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  const adminToken = readFileSync(tokenFile, 'utf8').trim();
  const caPem = () => readFileSync(caFile);
  /** The NATS servers' certificate (issued once; subject NATS_ROUTE_USER), for clients and routes alike. */
  const natsServerFiles = () => {
    if (!existsSync(join(dir, PKI_FILES.cert(NATS_SERVER_CERT)))) {
      issueCertificate(dir, NATS_SERVER_CERT, { subject: { organization: 'rivulet', commonName: NATS_SERVER_CERT } });
    }
    return { certFile: join(dir, PKI_FILES.cert(NATS_SERVER_CERT)), keyFile: join(dir, PKI_FILES.key(NATS_SERVER_CERT)), caFile };
  };
  const natsClientFiles = (name: string) => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error(`not a NATS client name: ${JSON.stringify(name)}`);
    const file = `nats-client-${name}`;
    if (!existsSync(join(dir, PKI_FILES.cert(file)))) issueCertificate(dir, file, { subject: { organization: NATS_CLIENT_ORGANIZATION, commonName: name } });
    return { certFile: join(dir, PKI_FILES.cert(file)), keyFile: join(dir, PKI_FILES.key(file)), caFile };
  };
  const accessOf = (nats: LocalNatsAccess | undefined) => ({
    names: { ...DEFAULT_NATS_NAMES, sourceStreams: nats?.sourceStreams ?? [] },
    extraUsers: (nats?.users ?? []).map((u) => {
      natsClientFiles(u.name);
      return { user: `CN=${u.name},O=${NATS_CLIENT_ORGANIZATION}`, permissions: u.permissions };
    }),
  });
  return {
    dir,
    env: (role) => ({
      RIVULET_TLS_CA_FILE: caFile,
      RIVULET_TLS_CERT_FILE: join(dir, PKI_FILES.cert(role)),
      RIVULET_TLS_KEY_FILE: join(dir, PKI_FILES.key(role)),
      RIVULET_ADMIN_TOKEN_FILE: tokenFile,
    }),
    admin: () => ({ insecure: false, pem: { ca: caPem() }, token: adminToken }),
    withToken: (token) => ({ insecure: false, pem: { ca: caPem() }, token }),
    as: (role) => ({
      insecure: false,
      pem: { ca: caPem(), cert: readFileSync(join(dir, PKI_FILES.cert(role))), key: readFileSync(join(dir, PKI_FILES.key(role))) },
    }),
    caPem,
    natsConfigFile: (nats) => {
      const file = join(dir, 'nats-server.conf');
      writeFileSync(file, natsSecurityConfig({ ...natsServerFiles(), ...accessOf(nats) }));
      return file;
    },
    natsClusterConfigFile: (serverName, node, nats) => {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(serverName)) throw new Error(`not a NATS server name: ${JSON.stringify(serverName)}`);
      const file = join(dir, `nats-${serverName}.conf`);
      const files = natsServerFiles();
      writeFileSync(file, natsSecurityConfig({ ...files, ...accessOf(nats) }) + natsClusterConfig({ ...node, tls: files }));
      return file;
    },
    natsClientTls: (name) => natsClientFiles(name),
  };
}
