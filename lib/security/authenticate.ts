/**
 * Access control on every gRPC server: a server interceptor that names the
 * caller (certificate, bearer token or JWT), decides with the table in
 * lib/security/access-policy.ts, refuses with UNAUTHENTICATED or
 * PERMISSION_DENIED and a message saying why, and writes an audit event and a
 * metric for every decision it refuses. Handlers that need the caller (job
 * ownership, a token's streams) read it with `principalOf(call)`, which fails
 * closed: a call the interceptor did not see has an anonymous caller.
 */
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { metrics } from '@opentelemetry/api';
import { PermissionDeniedError } from '../errors.js';
import type { Logger } from '../log.js';
import { decide } from './access-policy.js';
import { describePrincipal, INSECURE, principalFromCertificate, type Principal } from './identity.js';
import type { JwtVerifier } from './jwt.js';
import type { TokenVerifier } from './tokens.js';

/** What grpc-js's `getAuthContext()` reports (its type is not exported): the peer certificate when TLS verified one. */
type AuthContext = { sslPeerCertificate?: PeerCertificate };

/** Names callers from what they present. */
export class Authenticator {
  constructor(
    private readonly tokens?: TokenVerifier,
    private readonly jwt?: JwtVerifier,
  ) {}

  authenticate(auth: AuthContext, metadata: grpc.Metadata): Principal {
    const cert = auth.sslPeerCertificate;
    if (cert) {
      // Verified against the cluster CA by TLS already (getAuthContext reports only authorized peers).
      const p = principalFromCertificate(cert);
      if (p) return p;
    }
    const header = metadata.get('authorization')[0];
    if (typeof header === 'string' && header.startsWith('Bearer ')) {
      const credential = header.slice(7).trim();
      const looksLikeJwt = credential.split('.').length === 3;
      if (!looksLikeJwt || !this.jwt) {
        if (!this.tokens) return { kind: 'anonymous', reason: 'this service accepts no tokens' };
        const r = this.tokens.verify(credential);
        return r.ok ? r.principal : { kind: 'anonymous', reason: r.reason };
      }
      const r = this.jwt.verify(credential);
      return r.ok ? r.principal : { kind: 'anonymous', reason: r.reason };
    }
    if (cert) return { kind: 'anonymous', reason: 'the client certificate names no Rivulet service or user' };
    return { kind: 'anonymous', reason: 'no client certificate or bearer token was presented' };
  }
}

const principals = new WeakMap<grpc.Metadata, Principal>();

/** The caller of a call this process's access interceptor admitted; anonymous for any other. */
export function principalOf(call: { metadata: grpc.Metadata }): Principal {
  return principals.get(call.metadata) ?? { kind: 'anonymous', reason: 'the call did not pass access control' };
}

let decisionCounter: ReturnType<ReturnType<typeof metrics.getMeter>['createCounter']> | undefined;
function countDecision(method: string, outcome: string): void {
  decisionCounter ??= metrics.getMeter('rivulet').createCounter('rivulet.auth.denied', {
    description: 'gRPC calls refused by access control, by method and status',
  });
  decisionCounter.add(1, { 'rpc.method': method, outcome });
}

/**
 * The server interceptor. `auth` undefined means `--insecure`: every caller is
 * let through as the insecure principal.
 */
export function accessControlInterceptor(auth: Authenticator | undefined, log?: Logger): grpc.ServerInterceptor {
  return (methodDescriptor, call) =>
    new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            const principal = auth ? auth.authenticate(call.getAuthContext(), metadata) : INSECURE;
            const d = decide(methodDescriptor.path, principal);
            if (d.allowed) {
              principals.set(metadata, principal);
              nextMetadata(metadata);
              return;
            }
            countDecision(methodDescriptor.path, d.code);
            log?.warn(
              { audit: true, principal: describePrincipal(principal), method: methodDescriptor.path, peer: call.getPeer(), allowed: false, code: d.code },
              `access denied: ${d.reason}`,
            );
            call.sendStatus({ code: grpc.status[d.code], details: d.reason, metadata: new grpc.Metadata() });
          },
        });
      },
    });
}

/** Refuse a call inside a handler for a request-level rule (ownership, streams), with the same audit trail. */
export function denied(log: Logger | undefined, method: string, principal: Principal, reason: string): PermissionDeniedError {
  countDecision(method, 'PERMISSION_DENIED');
  log?.warn({ audit: true, principal: describePrincipal(principal), method, allowed: false, code: 'PERMISSION_DENIED' }, `access denied: ${reason}`);
  return new PermissionDeniedError(reason);
}

/**
 * The status page's check (services/scheduler/status-page/server.ts): the
 * same credentials as GetStatus — any user's token or JWT — presented over HTTP.
 */
export function statusPageAuthorizer(auth: Authenticator): (token: string | undefined) => { ok: true } | { ok: false; reason: string } {
  return (token) => {
    if (!token) return { ok: false, reason: 'no token was presented' };
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const p = auth.authenticate({}, metadata);
    if (p.kind === 'user') return { ok: true };
    return { ok: false, reason: p.kind === 'anonymous' ? p.reason : 'not a user' };
  };
}
