/**
 * TLS for every gRPC server and channel, mutual between services.
 *
 * A service runs with its role's certificate and the cluster CA, read from
 * files and re-read every `tlsReloadInterval`, so rotated certificates (a
 * renewed Kubernetes Secret, cert-manager) take effect without a restart.
 * Servers ask every client for a certificate but do not require one: services
 * present theirs, users may present a token instead (lib/security/authenticate.ts).
 *
 * Channels check the server's **role**, not its host name: a client of the
 * scheduler accepts only a certificate from the cluster CA naming
 * `CN=scheduler`, wherever it is dialled. Executors are dialled by pod IPs that
 * no certificate could list, and a certificate for the right name but the
 * wrong role (an executor's key answering as the scheduler) is exactly what
 * must be refused.
 */
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { describePrincipal, principalFromCertificate, type ServiceRole } from './identity.js';

/** Security material a process uses to dial and to serve. */
export type TransportSecurity =
  | { insecure: true }
  | {
      insecure: false;
      /** CA and this process's identity, from files re-read periodically (services). */
      files?: { caFile: string; certFile?: string; keyFile?: string; reloadIntervalMs: number };
      /** The same in memory (SDK clients, tests). */
      pem?: { ca: Buffer; cert?: Buffer; key?: Buffer };
      /** Bearer token sent with every call (users). */
      token?: string;
    };

export const INSECURE_TRANSPORT: TransportSecurity = { insecure: true };

/** Every TransportSecurity with `files` shares one provider per file set, so channels and servers reuse one watcher. */
const providers = new Map<string, grpc.experimental.FileWatcherCertificateProvider>();

function fileProvider(f: { caFile?: string; certFile?: string; keyFile?: string; reloadIntervalMs: number }): grpc.experimental.FileWatcherCertificateProvider {
  const key = JSON.stringify([f.caFile, f.certFile, f.keyFile, f.reloadIntervalMs]);
  let p = providers.get(key);
  if (!p) {
    p = new grpc.experimental.FileWatcherCertificateProvider({
      caCertificateFile: f.caFile,
      certificateFile: f.certFile,
      privateKeyFile: f.keyFile,
      refreshIntervalMs: f.reloadIntervalMs,
    });
    providers.set(key, p);
  }
  return p;
}

/** Server credentials: TLS with the service's certificate, client certificates requested (verified against the CA) but optional. */
export function serverCredentials(t: TransportSecurity): grpc.ServerCredentials {
  if (t.insecure) return grpc.ServerCredentials.createInsecure();
  // Servers are services, whose material is files (service-security.ts).
  if (!t.files?.certFile || !t.files.keyFile) throw new Error('a TLS server needs certificate and key files');
  const ca = fileProvider({ caFile: t.files.caFile, reloadIntervalMs: t.files.reloadIntervalMs });
  const identity = fileProvider({ certFile: t.files.certFile, keyFile: t.files.keyFile, reloadIntervalMs: t.files.reloadIntervalMs });
  // createSsl(…, true) would refuse clients without a certificate (token users): the provider form requests without requiring.
  return grpc.experimental.createCertificateProviderServerCredentials(identity, ca, false);
}

/** The server must be a service of one of these roles ('any' for health checks of any service). */
export type ExpectedPeer = readonly ServiceRole[] | 'any-service';

function checkRole(expected: ExpectedPeer) {
  return (_host: string, cert: PeerCertificate): Error | undefined => {
    const p = principalFromCertificate(cert);
    if (p?.kind !== 'service') return new Error(`the server's certificate names no Rivulet service (subject ${JSON.stringify(cert.subject)})`);
    if (expected !== 'any-service' && !expected.includes(p.role)) {
      return new Error(`expected a ${expected.join(' or ')} but the server's certificate is ${describePrincipal(p)}`);
    }
    return undefined;
  };
}

/** Channel credentials for dialling a server of an expected role. */
export function channelCredentials(t: TransportSecurity, expected: ExpectedPeer): grpc.ChannelCredentials {
  if (t.insecure) return grpc.credentials.createInsecure();
  const verify = { checkServerIdentity: checkRole(expected) };
  let creds: grpc.ChannelCredentials;
  if (t.files) {
    const ca = fileProvider({ caFile: t.files.caFile, reloadIntervalMs: t.files.reloadIntervalMs });
    const identity =
      t.files.certFile && t.files.keyFile
        ? fileProvider({ certFile: t.files.certFile, keyFile: t.files.keyFile, reloadIntervalMs: t.files.reloadIntervalMs })
        : null;
    creds = grpc.experimental.createCertificateProviderChannelCredentials(ca, identity, verify);
  } else if (t.pem) {
    creds = grpc.credentials.createSsl(t.pem.ca, t.pem.key ?? null, t.pem.cert ?? null, verify);
  } else {
    throw new Error('TLS needs the cluster CA certificate (--tls-ca-file or RIVULET_TLS_CA_FILE)');
  }
  if (!t.token) return creds;
  const header = `Bearer ${t.token}`;
  const callCreds = grpc.credentials.createFromMetadataGenerator((_params, cb) => {
    const md = new grpc.Metadata();
    md.set('authorization', header);
    cb(null, md);
  });
  return grpc.credentials.combineChannelCredentials(creds, callCreds);
}
