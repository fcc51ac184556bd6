/**
 * Who is calling: the principals Rivulet's access rules speak about, and how a
 * verified client certificate names one.
 *
 * - A **service** (scheduler, receiver, lineage, executor) proves its role with
 *   a certificate from the cluster's CA: subject `CN=<role>` (with `O=rivulet-service`,
 *   or no organization at all, as Helm's genSignedCert makes them).
 * - A **user** proves a name and one role with an API token (lib/security/tokens.ts),
 *   a JWT from a configured issuer (lib/security/jwt.ts) or a client certificate
 *   `O=rivulet-user, CN=<user>, OU=<role>`. A token may also be limited to some streams.
 * - **anonymous**: nothing presented (or nothing valid); only health checks allow it.
 * - **insecure**: the server runs with `--insecure`, which checks nothing.
 */
import type { PeerCertificate } from 'node:tls';

export const SERVICE_ORGANIZATION = 'rivulet-service';
export const USER_ORGANIZATION = 'rivulet-user';

export const SERVICE_ROLES = ['scheduler', 'receiver', 'lineage', 'executor'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];

/**
 * User roles, each a superset of none but `admin` of all:
 * - `admin`: everything, including every job and stream and creating tokens;
 * - `submit`: submit jobs, and stop and watch the jobs it submitted;
 * - `push`: push records to its streams (all streams unless the token names some);
 * - `view`: read cluster status and stream names.
 * Every authenticated user may read status and list streams.
 */
export const USER_ROLES = ['admin', 'submit', 'push', 'view'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export type Principal =
  | { kind: 'service'; role: ServiceRole }
  | {
      kind: 'user';
      user: string;
      role: UserRole;
      /** Streams a `push` principal may push to; undefined = every stream. */
      streams?: readonly string[];
      /** How it proved itself, for audit events: `token:<id>`, `jwt:<issuer>`, `certificate`, `bootstrap`. */
      via: string;
    }
  | { kind: 'anonymous'; reason: string }
  | { kind: 'insecure' };

export const INSECURE: Principal = { kind: 'insecure' };

export function isServiceRole(v: string): v is ServiceRole {
  return (SERVICE_ROLES as readonly string[]).includes(v);
}

export function isUserRole(v: string): v is UserRole {
  return (USER_ROLES as readonly string[]).includes(v);
}

/** The principal a CA-verified peer certificate names, or undefined when its subject names none. */
export function principalFromCertificate(cert: PeerCertificate): Principal | undefined {
  const subject = cert.subject as unknown as Record<string, string | string[] | undefined> | undefined;
  if (!subject) return undefined;
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v);
  const org = one(subject.O);
  const cn = one(subject.CN);
  if (!cn) return undefined;
  // A user certificate says so; any other certificate from the cluster CA whose CN is a role is that
  // service (Helm's genSignedCert sets only the CN, so the organization may be absent).
  if (org !== USER_ORGANIZATION && (org === undefined || org === SERVICE_ORGANIZATION) && isServiceRole(cn)) return { kind: 'service', role: cn };
  if (org === USER_ORGANIZATION) {
    const ou = one(subject.OU);
    if (ou && isUserRole(ou)) return { kind: 'user', user: cn, role: ou, via: 'certificate' };
  }
  return undefined;
}

/** A short name for logs and audit events: `service:executor`, `user:alice(submit)`, `anonymous`. */
export function describePrincipal(p: Principal): string {
  switch (p.kind) {
    case 'service':
      return `service:${p.role}`;
    case 'user':
      return `user:${p.user}(${p.role})`;
    case 'anonymous':
      return 'anonymous';
    case 'insecure':
      return 'insecure';
  }
}

/** May `p` act on a job owned by `owner` (stop it, watch its outputs)? Its owner and admins may. */
export function mayActOnJob(p: Principal, owner: string | undefined): boolean {
  if (p.kind === 'insecure') return true;
  if (p.kind !== 'user') return false;
  return p.role === 'admin' || (owner !== undefined && owner !== '' && p.user === owner);
}

/** May `p` push to `stream`? */
export function mayPushTo(p: Principal, stream: string): boolean {
  if (p.kind === 'insecure') return true;
  if (p.kind !== 'user') return false;
  if (p.role === 'admin') return true;
  return p.role === 'push' && (p.streams === undefined || p.streams.includes(stream));
}

/** The owner recorded for a job submitted by `p` ('' with security off). */
export function ownerName(p: Principal): string {
  return p.kind === 'user' ? p.user : '';
}
