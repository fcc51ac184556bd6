/**
 * The scheduler's side of API tokens (Scheduler.CreateToken / RevokeToken /
 * ListTokens, admins only): records written to the token bucket, which every
 * service follows (lib/security/tokens.ts). The new record is also put in this
 * process's verifier at once, so the token works here before the watch echoes it.
 */
import type { KV } from '@nats-io/kv';
import { InvalidArgumentError, UnavailableError } from '../../lib/errors.js';
import { checkNames } from '../../lib/names.js';
import { isUserRole } from '../../lib/security/identity.js';
import { mintToken, type TokenRecord, type TokenVerifier } from '../../lib/security/tokens.js';
import type { TokenInfo } from '../../lib/proto/gen/rivulet/v1/TokenInfo.js';

/** Token users may be e-mail addresses, so `@` is allowed here beside the name rule's characters. */
const USER_NAME = /^[A-Za-z0-9._@-]{1,128}$/;

export interface TokenRequest {
  user: string;
  role: string;
  streams: string[];
  ttlMs: number;
}

export function tokenInfo(r: TokenRecord): TokenInfo {
  return {
    id: r.id,
    user: r.user,
    role: r.role,
    streams: r.streams ?? [],
    createdAtMs: r.createdAtMs,
    expiresAtMs: r.expiresAtMs,
    createdBy: r.createdBy,
  };
}

export class TokenAdmin {
  constructor(
    /** Undefined with security off: there are no tokens to manage. */
    private readonly kv: KV | undefined,
    private readonly verifier: TokenVerifier | undefined,
  ) {}

  private store(): { kv: KV; verifier: TokenVerifier } {
    if (!this.kv || !this.verifier) throw new UnavailableError('tokens are not used: this cluster runs with --insecure');
    return { kv: this.kv, verifier: this.verifier };
  }

  async create(req: TokenRequest, createdBy: string): Promise<{ token: string; info: TokenInfo }> {
    const { kv, verifier } = this.store();
    if (!USER_NAME.test(req.user)) throw new InvalidArgumentError('user must be 1-128 characters: letters, digits, . _ @ -');
    if (!isUserRole(req.role)) throw new InvalidArgumentError(`role must be admin, submit, push or view (got ${JSON.stringify(req.role)})`);
    checkNames('streams', req.streams, 1024);
    if (req.streams.length > 0 && req.role !== 'push') throw new InvalidArgumentError('only push tokens are limited to streams');
    if (!Number.isSafeInteger(req.ttlMs) || req.ttlMs < 0) throw new InvalidArgumentError('ttl must be a non-negative number of milliseconds');
    const { token, record } = mintToken({ user: req.user, role: req.role, streams: req.streams, ttlMs: req.ttlMs, createdBy });
    await kv.put(record.id, JSON.stringify(record));
    verifier.put(record);
    return { token, info: tokenInfo(record) };
  }

  async revoke(id: string): Promise<boolean> {
    const { kv, verifier } = this.store();
    if (!/^[0-9a-f]{16}$/.test(id)) throw new InvalidArgumentError('a token id is 16 hex digits (rvt_<id>_…)');
    const existed = verifier.list().some((r) => r.id === id) || (await kv.get(id))?.operation === 'PUT';
    await kv.delete(id);
    verifier.delete(id);
    return existed;
  }

  list(): TokenInfo[] {
    return this.store().verifier.list().map(tokenInfo);
  }
}
