/**
 * API tokens: `rvt_<id>_<secret>`, sent as `authorization: Bearer <token>`.
 *
 * Only a SHA-256 of the secret is kept (the secret has 256 random bits, so a
 * fast hash is enough: there is nothing to guess). Tokens live in the JetStream
 * KV bucket `rivulet_tokens`, one key per token id, written by the scheduler
 * (`rivulet token create` → Scheduler.CreateToken, admins only) and watched by
 * every service that authenticates users, so a new or revoked token takes
 * effect everywhere within a moment, and verifying one costs a map look-up and
 * a hash on the call's path — no request to NATS.
 *
 * The **bootstrap token** is how the first admin gets in: a token kept in a
 * file (`adminTokenFile`; `rivulet up` writes `.rivulet/admin.token`, the chart
 * a Secret) that every service accepts as user `admin`, role `admin`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { openReplicatedKv, type ReplicaOptions } from '../nats/replicas.js';
import { nameSchema } from '../names.js';
import { isUserRole, type Principal, type UserRole, USER_ROLES } from './identity.js';

export const TOKEN_BUCKET = 'rivulet_tokens';
const TOKEN_RE = /^rvt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface TokenRecord {
  id: string;
  user: string;
  role: UserRole;
  /** Streams a push token may push to; absent = every stream. */
  streams?: string[];
  /** SHA-256 of the secret, hex. */
  sha256: string;
  createdAtMs: number;
  /** 0 = never expires. */
  expiresAtMs: number;
  createdBy: string;
}

export const tokenRecordSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{16}$/),
  user: z.string().min(1).max(128),
  role: z.enum(USER_ROLES),
  streams: z.array(nameSchema).max(1024).optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAtMs: z.number(),
  expiresAtMs: z.number(),
  createdBy: z.string().max(256),
});

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** A fresh token and the record to store for it (the token itself is shown once and never stored). */
export function mintToken(o: { user: string; role: UserRole; streams?: string[]; ttlMs?: number; createdBy: string; nowMs?: number }): { token: string; record: TokenRecord } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const now = o.nowMs ?? Date.now();
  return {
    token: `rvt_${id}_${secret}`,
    record: {
      id,
      user: o.user,
      role: o.role,
      ...(o.streams && o.streams.length > 0 ? { streams: o.streams } : {}),
      sha256: sha256Hex(secret),
      createdAtMs: now,
      expiresAtMs: o.ttlMs ? now + o.ttlMs : 0,
      createdBy: o.createdBy,
    },
  };
}

export type TokenCheck = { ok: true; principal: Principal } | { ok: false; reason: string };

/**
 * Checks bearer tokens against the bootstrap token and the token records it
 * is given (a TokenBucketFollower keeps them current).
 */
export class TokenVerifier {
  private readonly records = new Map<string, TokenRecord>();
  private readonly bootstrapHash?: Buffer;

  constructor(
    bootstrapToken?: string,
    private readonly now: () => number = Date.now,
  ) {
    if (bootstrapToken) this.bootstrapHash = createHash('sha256').update(bootstrapToken).digest();
  }

  put(record: TokenRecord): void {
    this.records.set(record.id, record);
  }

  delete(id: string): void {
    this.records.delete(id);
  }

  list(): TokenRecord[] {
    return [...this.records.values()];
  }

  verify(token: string): TokenCheck {
    if (this.bootstrapHash && token.length < 1024) {
      const h = createHash('sha256').update(token).digest();
      if (timingSafeEqual(h, this.bootstrapHash)) return { ok: true, principal: { kind: 'user', user: 'admin', role: 'admin', via: 'bootstrap' } };
    }
    const m = TOKEN_RE.exec(token);
    if (!m) return { ok: false, reason: 'the bearer token is not a Rivulet token (rvt_…)' };
    const [, id, secret] = m as unknown as [string, string, string];
    const record = this.records.get(id);
    if (!record) return { ok: false, reason: `token rvt_${id} is unknown or revoked` };
    const presented = Buffer.from(sha256Hex(secret), 'hex');
    if (!timingSafeEqual(presented, Buffer.from(record.sha256, 'hex'))) return { ok: false, reason: `token rvt_${id} does not match` };
    if (record.expiresAtMs > 0 && this.now() >= record.expiresAtMs) {
      return { ok: false, reason: `token rvt_${id} expired at ${new Date(record.expiresAtMs).toISOString()}` };
    }
    return {
      ok: true,
      principal: { kind: 'user', user: record.user, role: record.role, ...(record.streams ? { streams: record.streams } : {}), via: `token:${id}` },
    };
  }
}

/** The token in a bootstrap token file (trimmed); a clear error when unreadable or empty. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new Error(`cannot read the token file ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (!text) throw new Error(`the token file ${path} is empty`);
  return text;
}

/**
 * Open (creating when missing, with natsReplicas copies) the token bucket;
 * only its writer (the scheduler) raises an existing bucket's replicas
 * (`replicas.raise`).
 */
export async function openTokenBucket(nc: NatsConnection, replicas: ReplicaOptions = { replicas: 1 }): Promise<KV> {
  return openReplicatedKv(nc, TOKEN_BUCKET, { history: 1 }, replicas);
}

/**
 * Keep a TokenVerifier in step with the token bucket: every record now, then
 * every put and delete as it happens. Resolves once the current records are loaded.
 */
export async function followTokenBucket(kv: KV, verifier: TokenVerifier, log?: Logger): Promise<{ stop(): void }> {
  const watcher = await kv.watch({ key: '>' });
  let loaded!: () => void;
  const ready = new Promise<void>((r) => (loaded = r));
  const apply = (e: KvWatchEntry) => {
    if (e.operation === 'DEL' || e.operation === 'PURGE') {
      verifier.delete(e.key);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(e.string());
    } catch {
      parsed = undefined;
    }
    const r = tokenRecordSchema.safeParse(parsed);
    if (!r.success || r.data.id !== e.key || !isUserRole(r.data.role)) {
      log?.warn({ key: e.key }, 'token bucket entry is not a valid token record; ignored');
      return;
    }
    verifier.put(r.data);
  };
  void (async () => {
    for await (const e of watcher) {
      apply(e);
      if (e.isUpdate === false && e.delta === 0) loaded();
    }
  })().catch((err: unknown) => log?.warn({ err }, 'token bucket watch ended'));
  // An empty bucket sends nothing to mark the end of the initial values.
  const status = await kv.status();
  if (status.values === 0) loaded();
  await ready;
  return { stop: () => watcher.stop() };
}
