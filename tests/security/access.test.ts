/**
 * Security on (the default) against someone with network access to every
 * port, on a real cluster: each attack the security issue listed is refused
 * with the right status, and a job running meanwhile counts every acked record
 * exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { RivuletClient } from '../../client/index.js';
import { dial, unary } from '../../lib/grpc/client.js';
import { issueServiceCertificate, issueUserCertificate, readPem } from '../../lib/security/pki.js';
import type { TransportSecurity } from '../../lib/security/transport.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { pushIdsAndExpectExactCounts } from '../helpers/id-lines.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

/** The status code a unary call ends with (OK = 0). */
async function codeOf(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
    return { code: grpc.status.OK, message: '' };
  } catch (e) {
    const err = e as { code?: number; message?: string };
    return { code: err.code ?? -1, message: err.message ?? String(e) };
  }
}

/** The status a server stream (or duplex) ends with. */
function streamCode(call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>): Promise<{ code: number; details: string }> {
  return new Promise((resolve) => {
    call.on('data', () => undefined);
    call.on('error', () => undefined);
    call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
  });
}

describe('security on by default', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster({ executors: 2, slots: 2, batchInterval: '500ms', blockInterval: '100ms' }, (s) => ({ cluster, client } = s));
  const otherCaDir = mkdtempSync(join(tmpdir(), 'rivulet-other-ca-'));
  afterAll(() => rmSync(otherCaDir, { recursive: true, force: true }));

  const sec = () => cluster.security!;
  const clientWith = (security: TransportSecurity) => new RivuletClient({ ...cluster.addresses(), security });

  it('refuses every internal RPC to users and outsiders, and runs no code for them', async () => {
    const a = cluster.addresses();
    const adminTls = a.security;
    const none: TransportSecurity = { insecure: false, pem: { ca: sec().caPem() } };
    for (const security of [adminTls, none]) {
      const want = security === none ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED;
      const ex = dial.executor(a.executors[0]!, { security });
      const lin = dial.lineage(a.lineage, { security });
      try {
        // Remote code execution through the executor port: LoadJob + RunTasks/TaskStream.
        expect((await codeOf(unary(ex, ex.loadJob, { jobId: 'evil', bundle: Buffer.from('process.exit(1)') } as never))).code).toBe(want);
        expect((await streamCode(ex.runTasks({} as never))).code).toBe(want);
        expect((await streamCode(ex.taskStream())).code).toBe(want);
        expect((await codeOf(unary(ex, ex.putBlock, {} as never))).code).toBe(want);
        expect((await codeOf(unary(ex, ex.dropBlocks, { blockIds: ['x'] } as never))).code).toBe(want);
        expect((await codeOf(unary(ex, ex.replicateBlocks, {} as never))).code).toBe(want);
        expect((await streamCode(ex.fetchBlocks({ blockIds: ['x'] } as never))).code).toBe(want);
        for (const m of [lin.registerBatch, lin.forgetBatches, lin.removeExecutor]) {
          expect((await codeOf(unary(lin, m as never, {} as never))).code).toBe(want);
        }
      } finally {
        ex.close();
        lin.close();
      }
    }
    // Nothing was run: both executors are alive and the scheduler's log names the refusals.
    const status = await client.status();
    expect(status.executors.filter((e) => e.state === 'ALIVE')).toHaveLength(2);
    expect(cluster.executors[0]!.recentOutput()).toContain('access denied');
  });

  it('refuses a service certificate from another CA, and a service calling outside its role', async () => {
    const a = cluster.addresses();
    // A certificate that claims to be the scheduler, from a CA the cluster does not trust.
    const forged = issueServiceCertificate(otherCaDir, 'scheduler');
    const impostor: TransportSecurity = { insecure: false, pem: { ca: sec().caPem(), cert: readPem(forged.certFile), key: readPem(forged.keyFile) } };
    const ex = dial.executor(a.executors[0]!, { security: impostor });
    try {
      expect((await codeOf(unary(ex, ex.loadJob, { jobId: 'evil' } as never))).code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      ex.close();
    }
    // A real executor certificate (a compromised executor) still may not load code on its peer.
    const peer = dial.executor(a.executors[1]!, { security: sec().as('executor') });
    try {
      expect((await codeOf(unary(peer, peer.loadJob, { jobId: 'evil' } as never))).code).toBe(grpc.status.PERMISSION_DENIED);
    } finally {
      peer.close();
    }
    // A client that does not trust the cluster's CA does not talk to it at all.
    const wrongTrust = clientWith({ insecure: false, pem: { ca: readPem(join(otherCaDir, 'ca.pem')) }, token: 'whatever' });
    const plain = clientWith({ insecure: true });
    try {
      expect((await codeOf(wrongTrust.status())).code).toBe(grpc.status.UNAVAILABLE);
      expect((await codeOf(plain.status())).code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      await wrongTrust.close();
      await plain.close();
    }
    // And a client refuses a server whose certificate is for another role: an executor answering as the scheduler.
    const fooled = new RivuletClient({ scheduler: a.executors[0]!, security: a.security });
    try {
      const r = await codeOf(fooled.status());
      expect(r.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      await fooled.close();
    }
  });

  it('the status page needs a token: none or a bad one is 401; ?token= once sets a cookie and leaves the address', async () => {
    const page = cluster.addresses().statusPage!;
    const none = await fetch(new URL('api/status', page));
    expect(none.status).toBe(401);
    expect(await none.text()).toContain('?token=');
    expect((await fetch(new URL('api/status', page), { headers: { Authorization: 'Bearer rvt_0123456789abcdef_' + 'x'.repeat(43) } })).status).toBe(401);
    const { token } = await client.createToken({ user: 'watcher', role: 'view' });
    const visit = await fetch(new URL(`?token=${encodeURIComponent(token)}`, page), { redirect: 'manual' });
    expect(visit.status).toBe(303);
    expect(visit.headers.get('location')).toBe('/');
    const cookie = visit.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const withCookie = await fetch(new URL('api/status', page), { headers: { Cookie: cookie.split(';')[0]! } });
    expect(withCookie.status).toBe(200);
    expect(((await withCookie.json()) as { executors: unknown[] }).executors).toHaveLength(2);
    // Revoked: the cookie no longer opens it.
    await client.revokeToken(token.slice(4, 20));
    expect((await fetch(new URL('api/status', page), { headers: { Cookie: cookie.split(';')[0]! } })).status).toBe(401);
  });

  it('names a user by a client certificate from the cluster CA', async () => {
    const carol = issueUserCertificate(sec().dir, 'carol', 'view');
    const viewer = clientWith({ insecure: false, pem: { ca: sec().caPem(), cert: readPem(carol.certFile), key: readPem(carol.keyFile) } });
    try {
      expect((await viewer.status()).executors.length).toBe(2);
      const refused = await codeOf(viewer.submitJob(wordcount));
      expect(refused.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(refused.message).toContain('user carol (role view)');
    } finally {
      await viewer.close();
    }
  });

  it('enforces roles, owners, streams, expiry and revocation, while a job counts every acked record once', async () => {
    // alice submits; bob may push only to `lines`; mallory is another submitter.
    const mint = async (user: string, role: 'submit' | 'push' | 'view', o: { streams?: string[]; ttlMs?: number } = {}) =>
      (await client.createToken({ user, role, ...o })).token;
    const alice = clientWith(sec().withToken(await mint('alice', 'submit')));
    const bobToken = await client.createToken({ user: 'bob', role: 'push', streams: ['lines'] });
    const bob = clientWith(sec().withToken(bobToken.token));
    const mallory = clientWith(sec().withToken(await mint('mallory', 'submit')));
    const expired = clientWith(sec().withToken(await mint('eve', 'view', { ttlMs: 1 })));
    const viewer = clientWith(sec().withToken(await mint('victor', 'view')));
    const nobody = clientWith({ insecure: false, pem: { ca: sec().caPem() } });
    try {
      const job = await alice.submitJob(wordcount);
      const status = await client.status();
      expect(status.jobs.find((j) => j.jobId === job.jobId)?.owner).toBe('alice');

      // A push token can neither submit nor stop; another user cannot stop or watch alice's job.
      expect((await codeOf(bob.submitJob(wordcount))).code).toBe(grpc.status.PERMISSION_DENIED);
      expect((await codeOf(bob.stopJob(job.jobId))).code).toBe(grpc.status.PERMISSION_DENIED);
      const stop = await codeOf(mallory.stopJob(job.jobId));
      expect(stop.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(stop.message).toContain('only its owner (alice)');
      const watch = await codeOf((async () => {
        for await (const _ of mallory.watchOutput(job.jobId, 'counts')) break;
      })());
      expect(watch.code).toBe(grpc.status.PERMISSION_DENIED);
      // A slice of its output likewise: another submitter, a view token and no credential are refused; the owner may.
      const slice = (c: RivuletClient) => codeOf(c.slice(job.jobId, 'counts', 0, Date.now()));
      const bySubmitter = await slice(mallory);
      expect(bySubmitter.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(bySubmitter.message).toContain('only its owner (alice)');
      const byViewer = await slice(viewer);
      expect(byViewer.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(byViewer.message).toContain('may not call /rivulet.v1.Scheduler/SliceOutput');
      expect((await slice(nobody)).code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await alice.slice(job.jobId, 'counts', 0, Date.now())).jobState).toBe('RUNNING');
      const late = await codeOf(expired.status());
      expect(late.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(late.message).toContain('expired');

      // bob pushes to his stream; a stream he was not given is refused.
      const other = bob.pusher('not-his');
      expect((await codeOf(other.push(['x']))).code).toBe(grpc.status.PERMISSION_DENIED);
      await other.close().catch(() => undefined);
      await pushIdsAndExpectExactCounts(bob, alice, job.jobId, 2000);

      // Revoked: refused by the receiver as soon as its token watch sees it.
      expect(await client.revokeToken(bobToken.info.id)).toBe(true);
      await waitFor(async () => {
        const p = bob.pusher('lines');
        const r = await codeOf(p.push(['after revocation']));
        await p.close().catch(() => undefined);
        return r.code === (grpc.status.UNAUTHENTICATED as number);
      }, 'the receiver refuses the revoked token', { timeoutMs: 10_000, intervalMs: 100 });

      // The owner may stop her job.
      await alice.stopJob(job.jobId);
    } finally {
      for (const c of [alice, bob, mallory, expired, viewer, nobody]) await c.close();
    }
  });
});
