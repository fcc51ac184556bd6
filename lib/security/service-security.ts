/**
 * A service process's security, set up once from its configuration by
 * lib/service-main.ts before the service starts: the TLS material every
 * channel it dials and every server it binds uses, and the authenticator its
 * servers' access control asks. A process has exactly one identity, so this is
 * process-wide state — lib/grpc/client.ts and lib/grpc/server.ts read it when
 * a caller passes none (SDK clients and tests always pass their own).
 */
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ReplicaOptions } from '../nats/replicas.js';
import { Authenticator } from './authenticate.js';
import { JwtVerifier } from './jwt.js';
import { followTokenBucket, openTokenBucket, readTokenFile, TokenVerifier } from './tokens.js';
import { INSECURE_TRANSPORT, type TransportSecurity } from './transport.js';

export interface SecurityOptions {
  insecure: boolean;
  tlsCaFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsReloadInterval: number;
  adminTokenFile?: string;
  oidcIssuer?: string;
  oidcAudience?: string;
  oidcJwksUrl?: string;
  oidcUserClaim: string;
  oidcRoleClaim: string;
}

export interface ServiceSecurity {
  transport: TransportSecurity;
  /** Undefined with `insecure`: servers let every call through. */
  authenticator?: Authenticator;
  /** Bootstrap token and the token bucket's records (undefined with `insecure`). */
  tokens?: TokenVerifier;
  stop(): void;
}

const INSECURE_SECURITY: ServiceSecurity = { transport: INSECURE_TRANSPORT, stop: () => undefined };
let current: ServiceSecurity = INSECURE_SECURITY;

/** This process's security (insecure until a service sets it up). */
export function processSecurity(): ServiceSecurity {
  return current;
}

/** Build this process's security from its options; ConfigError when security is on and material is missing. */
export async function setUpServiceSecurity(o: SecurityOptions, log?: Logger): Promise<ServiceSecurity> {
  if (o.insecure) {
    log?.warn('running with --insecure: plaintext gRPC and no access control; anyone who can reach a port can run code on the executors');
    current = INSECURE_SECURITY;
    return current;
  }
  const missing = (['tlsCaFile', 'tlsCertFile', 'tlsKeyFile'] as const).filter((k) => !o[k]);
  if (missing.length > 0) {
    throw new ConfigError(
      `security is on by default and needs ${missing.map((k) => `--${k.replace(/([A-Z])/g, '-$1').toLowerCase()}`).join(', ')} ` +
        '(`rivulet up` and the Helm chart make them); pass --insecure to run without TLS and access control',
    );
  }
  const oidc = [o.oidcIssuer, o.oidcAudience, o.oidcJwksUrl];
  if (oidc.some(Boolean) && !oidc.every(Boolean)) throw new ConfigError('OIDC needs all of --oidc-issuer, --oidc-audience and --oidc-jwks-url');
  let bootstrap: string | undefined;
  if (o.adminTokenFile) {
    try {
      bootstrap = readTokenFile(o.adminTokenFile);
    } catch (e) {
      throw new ConfigError((e as Error).message);
    }
  }
  const tokens = new TokenVerifier(bootstrap);
  let jwt: JwtVerifier | undefined;
  if (o.oidcIssuer && o.oidcAudience && o.oidcJwksUrl) {
    jwt = new JwtVerifier({ issuer: o.oidcIssuer, audience: o.oidcAudience, jwksUrl: o.oidcJwksUrl, userClaim: o.oidcUserClaim, roleClaim: o.oidcRoleClaim, log });
    // A provider that is down at start must not keep the service down: tokens and certificates still work, and the keys are fetched again.
    await jwt.start().catch(() => undefined);
  }
  current = {
    transport: {
      insecure: false,
      files: { caFile: o.tlsCaFile!, certFile: o.tlsCertFile, keyFile: o.tlsKeyFile, reloadIntervalMs: o.tlsReloadInterval },
    },
    authenticator: new Authenticator(tokens, jwt),
    tokens,
    stop: () => jwt?.stop(),
  };
  return current;
}

/**
 * Follow the token bucket into this process's verifier (services that
 * authenticate users: scheduler, receiver, lineage); the bucket comes back for
 * the scheduler, which writes it. No-op with `insecure`.
 */
export async function followTokens(nc: NatsConnection, log?: Logger, replicas: ReplicaOptions = { replicas: 1 }): Promise<{ stop(): void; kv?: KV }> {
  const tokens = current.tokens;
  if (!tokens) return { stop: () => undefined };
  const kv = await openTokenBucket(nc, { log, ...replicas });
  const follower = await followTokenBucket(kv, tokens, log);
  return { stop: follower.stop, kv };
}
