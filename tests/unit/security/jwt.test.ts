import { createServer, type Server } from 'node:http';
import { generateKeyPairSync, createSign, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtVerifier } from '../../../lib/security/jwt.js';

// A real HTTP JWKS endpoint on loopback, as an identity provider publishes it.
let server: Server;
let jwksUrl: string;
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function sign(claims: Record<string, unknown>, key: KeyObject = privateKey, kid = 'k1'): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'ES256', kid, typ: 'JWT' })}.${enc(claims)}`;
  const sig = createSign('sha256').update(head).sign({ key, dsaEncoding: 'ieee-p1363' });
  return `${head}.${sig.toString('base64url')}`;
}

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('JWT bearer tokens', () => {
  const now = 1_800_000_000_000;
  const base = { iss: 'https://idp.example', aud: 'rivulet', sub: 'dana', rivulet_role: 'submit', exp: now / 1000 + 300 };

  it('accepts a token signed by the issuer and names its user and role', async () => {
    const v = new JwtVerifier({ issuer: base.iss, audience: 'rivulet', jwksUrl, now: () => now });
    await v.start();
    try {
      expect(v.verify(sign(base))).toEqual({ ok: true, principal: { kind: 'user', user: 'dana', role: 'submit', via: 'jwt:https://idp.example' } });
    } finally {
      v.stop();
    }
  });

  it('refuses expired, foreign-signed, wrong-audience and role-less tokens', async () => {
    const v = new JwtVerifier({ issuer: base.iss, audience: 'rivulet', jwksUrl, now: () => now });
    await v.start();
    try {
      expect(v.verify(sign({ ...base, exp: now / 1000 - 120 }))).toMatchObject({ ok: false, reason: expect.stringContaining('expired') });
      expect(v.verify(sign(base, other.privateKey))).toMatchObject({ ok: false, reason: expect.stringContaining('signature') });
      expect(v.verify(sign({ ...base, aud: 'someone-else' }))).toMatchObject({ ok: false, reason: expect.stringContaining('audience') });
      expect(v.verify(sign({ ...base, iss: 'https://evil.example' }))).toMatchObject({ ok: false, reason: expect.stringContaining('issuer') });
      expect(v.verify(sign({ ...base, rivulet_role: 'root' }))).toMatchObject({ ok: false, reason: expect.stringContaining('role') });
      expect(v.verify(sign(base, privateKey, 'unknown-kid'))).toMatchObject({ ok: false, reason: expect.stringContaining('key id') });
    } finally {
      v.stop();
    }
  });
});
