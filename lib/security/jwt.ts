/**
 * OIDC / JWT bearer tokens, for people who have an identity provider: a JWT
 * signed by a key in the issuer's JWKS (RS256 or ES256), with the configured
 * issuer and audience, not expired, names a user (`sub`, or `oidcUserClaim`)
 * and a role (`oidcRoleClaim`, default `rivulet_role`: one of the user roles).
 *
 * The key set is fetched at start and every `refreshMs`, and again (at most
 * once a minute) when a token names a key id it does not know, so verifying a
 * token never waits for the network on the call's path.
 */
import { createPublicKey, createVerify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Logger } from '../log.js';
import { isUserRole } from './identity.js';
import type { TokenCheck } from './tokens.js';

export interface JwtVerifierOptions {
  issuer: string;
  audience: string;
  /** Where the issuer publishes its keys (its discovery document's `jwks_uri`). */
  jwksUrl: string;
  userClaim?: string;
  roleClaim?: string;
  refreshMs?: number;
  /** Clock skew allowed on `exp` / `nbf`. @default 30000 */
  leewayMs?: number;
  log?: Logger;
  now?: () => number;
}

const ALGORITHMS: Record<string, { hash: string; dsa?: true }> = { RS256: { hash: 'sha256' }, ES256: { hash: 'sha256', dsa: true } };

function b64json(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export class JwtVerifier {
  private keys = new Map<string, KeyObject>();
  private timer?: NodeJS.Timeout;
  private lastFetchMs = 0;

  constructor(private readonly o: JwtVerifierOptions) {}

  /** Fetch the key set now and keep refreshing it. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.o.refreshMs ?? 10 * 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    this.lastFetchMs = Date.now();
    try {
      const res = await fetch(this.o.jwksUrl, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { keys?: Array<JsonWebKey & { kid?: string }> };
      const keys = new Map<string, KeyObject>();
      for (const jwk of body.keys ?? []) {
        if (!jwk.kid) continue;
        try {
          keys.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
        } catch (e) {
          this.o.log?.warn({ kid: jwk.kid, err: e }, 'JWKS key not usable; ignored');
        }
      }
      this.keys = keys;
    } catch (e) {
      this.o.log?.warn({ jwksUrl: this.o.jwksUrl, err: e }, 'could not fetch the JWKS; keeping the keys already known');
      throw e;
    }
  }

  verify(token: string): TokenCheck {
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'the bearer token is neither a Rivulet token nor a JWT' };
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = b64json(parts[0]!);
      claims = b64json(parts[1]!);
    } catch {
      return { ok: false, reason: 'the JWT does not decode' };
    }
    const alg = ALGORITHMS[String(header.alg)];
    if (!alg) return { ok: false, reason: `JWT algorithm ${String(header.alg)} is not accepted (RS256, ES256)` };
    const key = this.keys.get(String(header.kid));
    if (!key) {
      if (Date.now() - this.lastFetchMs > 60_000) void this.refresh().catch(() => undefined);
      return { ok: false, reason: `JWT key id ${String(header.kid)} is not in the issuer's key set` };
    }
    const verifier = createVerify(alg.hash);
    verifier.update(`${parts[0]}.${parts[1]}`);
    const sig = Buffer.from(parts[2]!, 'base64url');
    const good = verifier.verify(alg.dsa ? { key, dsaEncoding: 'ieee-p1363' } : key, sig);
    if (!good) return { ok: false, reason: 'the JWT signature does not verify' };
    const now = (this.o.now ?? Date.now)();
    const leeway = this.o.leewayMs ?? 30_000;
    if (claims.iss !== this.o.issuer) return { ok: false, reason: `JWT issuer ${String(claims.iss)} is not ${this.o.issuer}` };
    const aud = claims.aud;
    if (!(aud === this.o.audience || (Array.isArray(aud) && aud.includes(this.o.audience)))) return { ok: false, reason: `JWT audience is not ${this.o.audience}` };
    if (typeof claims.exp !== 'number' || claims.exp * 1000 + leeway <= now) return { ok: false, reason: 'the JWT has expired (or has no exp)' };
    if (typeof claims.nbf === 'number' && claims.nbf * 1000 - leeway > now) return { ok: false, reason: 'the JWT is not valid yet' };
    const user = claims[this.o.userClaim ?? 'sub'];
    const role = claims[this.o.roleClaim ?? 'rivulet_role'];
    if (typeof user !== 'string' || !user) return { ok: false, reason: `the JWT has no ${this.o.userClaim ?? 'sub'} claim` };
    if (typeof role !== 'string' || !isUserRole(role)) return { ok: false, reason: `the JWT's ${this.o.roleClaim ?? 'rivulet_role'} claim is not a Rivulet role` };
    return { ok: true, principal: { kind: 'user', user, role, via: `jwt:${this.o.issuer}` } };
  }
}
