import { describe, expect, it } from 'vitest';
import { mayActOnJob, mayPushTo } from '../../../lib/security/identity.js';
import { mintToken, TokenVerifier } from '../../../lib/security/tokens.js';

describe('API tokens', () => {
  it('verifies a minted token and names its user, role and streams', () => {
    const v = new TokenVerifier();
    const { token, record } = mintToken({ user: 'bob', role: 'push', streams: ['lines'], createdBy: 'test' });
    expect(token).toMatch(/^rvt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(record)).not.toContain(token.slice(21)); // only the hash is kept
    v.put(record);
    const r = v.verify(token);
    expect(r).toEqual({ ok: true, principal: { kind: 'user', user: 'bob', role: 'push', streams: ['lines'], via: `token:${record.id}` } });
    if (!r.ok) return;
    expect(mayPushTo(r.principal, 'lines')).toBe(true);
    expect(mayPushTo(r.principal, 'other')).toBe(false);
  });

  it('refuses an unknown, tampered, revoked or expired token with the reason', () => {
    let now = 1_000_000;
    const v = new TokenVerifier(undefined, () => now);
    const { token, record } = mintToken({ user: 'alice', role: 'submit', ttlMs: 60_000, createdBy: 'test', nowMs: now });
    expect(v.verify(token)).toMatchObject({ ok: false, reason: expect.stringContaining('unknown or revoked') });
    v.put(record);
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect(v.verify(tampered)).toMatchObject({ ok: false, reason: expect.stringContaining('does not match') });
    expect(v.verify(token).ok).toBe(true);
    now += 60_000;
    expect(v.verify(token)).toMatchObject({ ok: false, reason: expect.stringContaining('expired') });
    v.delete(record.id);
    expect(v.verify(token)).toMatchObject({ ok: false, reason: expect.stringContaining('unknown or revoked') });
    expect(v.verify('not-a-token')).toMatchObject({ ok: false });
  });

  it('accepts the bootstrap token as the admin user', () => {
    const v = new TokenVerifier('rva_bootstrap-secret');
    expect(v.verify('rva_bootstrap-secret')).toEqual({ ok: true, principal: { kind: 'user', user: 'admin', role: 'admin', via: 'bootstrap' } });
    expect(v.verify('rva_bootstrap-secreT').ok).toBe(false);
  });

  it('lets only a job owner or an admin act on a job', () => {
    const alice = { kind: 'user' as const, user: 'alice', role: 'submit' as const, via: 't' };
    const mallory = { kind: 'user' as const, user: 'mallory', role: 'submit' as const, via: 't' };
    const root = { kind: 'user' as const, user: 'root', role: 'admin' as const, via: 't' };
    expect(mayActOnJob(alice, 'alice')).toBe(true);
    expect(mayActOnJob(mallory, 'alice')).toBe(false);
    expect(mayActOnJob(root, 'alice')).toBe(true);
    // A job submitted with security off has no owner: only admins may act on it once security is on.
    expect(mayActOnJob(alice, '')).toBe(false);
    expect(mayActOnJob({ kind: 'service', role: 'scheduler' }, 'alice')).toBe(false);
  });
});
