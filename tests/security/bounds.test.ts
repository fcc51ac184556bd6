/**
 * Bounds on every name and request (issue 13), on a real cluster (nats-server
 * and every service as processes from dist/, security on: raw calls dial as
 * its admin, whose pushes the receiver's quotas key by user):
 * - 4 MiB names are refused INVALID_ARGUMENT at every API that takes one, and
 *   a refused job is never listed;
 * - GetStatus stays under its bound (here maxStatusBytes=64KiB) after many
 *   refused and accepted jobs: paged, and `rivulet status` still lists them all;
 * - the receiver's quotas (maxClientStreams=1, clientPushRate=256KiB) refuse
 *   with RESOURCE_EXHAUSTED and a retry hint, the SDK's pushers wait and get
 *   through, and every acked record is counted exactly once;
 * - the status page refuses a foreign Host (DNS rebinding) and stays read-only.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { bundleJob } from '../../lib/dstream/bundle.js';
import { dial, unary } from '../../lib/grpc/client.js';
import type { ClusterStatus__Output } from '../../lib/proto/gen/rivulet/v1/ClusterStatus.js';
import type { PushResponse__Output } from '../../lib/proto/gen/rivulet/v1/PushResponse.js';
import { cliSecurityEnv, useLocalCluster } from '../helpers/cluster.js';
import { getWithHost } from '../helpers/http.js';
import { expectExactWordCounts, idLine, watchIdBatches } from '../helpers/id-lines.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const wordcount = join(repo, 'examples/wordcount.ts');
const FOUR_MIB = 'n'.repeat(4 * 1024 * 1024);
const STATUS_BYTES = 64 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'rivulet-bounds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A job with 100 outputs of 120-character names: ~13 KB of status each, so a few fill a 64 KiB page. */
function wideJob(): string {
  const path = join(dir, 'wide.ts');
  writeFileSync(
    path,
    `import { defineJob } from 'rivulet';\n` +
      `export default defineJob((ctx) => { const s = ctx.receiverStream<string>('wide-lines');\n` +
      `  for (let i = 0; i < 100; i++) s.map((l) => l).output('o'.repeat(117) + String(i).padStart(3, '0')); });\n`,
  );
  return path;
}

function rivulet(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const opts = { cwd: dir, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } };
    execFile(process.execPath, [join(repo, 'bin/rivulet.js'), ...args], opts, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('bounds on names, status, receiver quotas and the status page', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    {
      executors: 1,
      slots: 2,
      batchInterval: '500ms',
      blockInterval: '100ms',
      env: {
        scheduler: { RIVULET_MAX_STATUS_BYTES: String(STATUS_BYTES) },
        receiver: { RIVULET_MAX_CLIENT_STREAMS: '1', RIVULET_CLIENT_PUSH_RATE: '256KiB' },
      },
    },
    (started) => ({ cluster, client } = started),
  );

  // Raw calls as the cluster's admin (security is on: mutual TLS and a token).
  const scheduler = () => dial.scheduler(cluster.addresses().scheduler, { maxMessageBytes: 64 * 1024 * 1024, security: cluster.addresses().security });
  const receiver = () => dial.receiver(cluster.addresses().receiver, { maxMessageBytes: 64 * 1024 * 1024, security: cluster.addresses().security });

  it('refuses 4 MiB names with INVALID_ARGUMENT naming the field and the rule, and lists none of them', async () => {
    const s = scheduler();
    const bundle = Buffer.from((await bundleJob(wordcount)).code);
    for (let i = 0; i < 5; i++) {
      // unary() answers typed errors (lib/errors.ts): the status's details are the message.
      const err = (await unary(s, s.submitJob, { name: FOUR_MIB, bundle, source: 'wordcount.js' }).catch((e: unknown) => e)) as Error & { code: number };
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(err.message).toBe('SubmitJob name is 4194304 characters long, over 128: a name is 1-128 characters of letters, digits and _ . : -');
    }
    for (const [method, req, field] of [
      [s.stopJob, { jobId: FOUR_MIB }, 'StopJob job_id'],
      [s.watchOutput, { jobId: 'job-1', output: FOUR_MIB }, 'WatchOutput output'],
      [s.sliceOutput, { jobId: FOUR_MIB, output: 'counts', fromTimeMs: 0, toTimeMs: 1 }, 'SliceOutput job_id'],
    ] as const) {
      const err = await new Promise<ServiceError>((resolve) => {
        if (method === s.stopJob) s.stopJob(req as never, (e: ServiceError | null) => resolve(e!));
        else if (method === s.sliceOutput) s.sliceOutput(req as never).on('error', resolve);
        else s.watchOutput(req as never).on('error', resolve);
      });
      expect(err.code, field).toBe(Status.INVALID_ARGUMENT);
      expect(err.details).toMatch(new RegExp(`^${field} is 4194304 characters long`));
    }
    // The receiver: a 4 MiB stream name ends the Push call at open.
    const r = receiver();
    const pushErr = await new Promise<ServiceError>((resolve) => {
      const call = r.push(new Metadata());
      call.on('data', () => undefined);
      call.on('error', resolve);
      call.write({ open: { stream: FOUR_MIB, clientId: 'bounds' } });
    });
    r.close();
    expect(pushErr.code).toBe(Status.INVALID_ARGUMENT);
    expect(pushErr.details).toMatch(/^open\.stream is 4194304 characters long, over 128/);
    const st = (await unary(s, s.getStatus, {})) as ClusterStatus__Output;
    expect(st.jobsTotal).toBe(0);
    expect(JSON.stringify(st).length).toBeLessThan(STATUS_BYTES);
    s.close();
  });

  it('status stays under its bound after many refused and accepted jobs; clients and `rivulet status` page through all of them', async () => {
    const s = scheduler();
    const wide = await bundleJob(wideJob());
    const bundle = Buffer.from(wide.code);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      // A refused one between accepted ones: bad characters, and an oversized source.
      await expect(unary(s, s.submitJob, { name: `bad name ${i}`, bundle, source: 'wide.js' })).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
      await expect(unary(s, s.submitJob, { name: '', bundle, source: 'x'.repeat(2000) })).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
      const res = (await unary(s, s.submitJob, { name: `wide-${i}`, bundle, source: 'wide.js' })) as { jobId: string };
      ids.push(res.jobId);
      // Stopped before its first batch: status only, no work for this small machine.
      await unary(s, s.stopJob, { jobId: res.jobId });
    }
    // One page is at most 64 KiB; following next_page_token lists each job once.
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = (await unary(s, s.getStatus, { recentBatches: 10, pageToken: token })) as ClusterStatus__Output;
      expect(Buffer.byteLength(JSON.stringify(page)), `page ${pages}`).toBeLessThanOrEqual(STATUS_BYTES);
      expect(page.jobsTotal).toBe(12);
      expect(page.jobs.every((j) => j.outputs.length === 100 && j.outputsTotal === 100)).toBe(true);
      seen.push(...page.jobs.map((j) => j.jobId));
      token = page.nextPageToken;
      pages++;
    } while (token);
    expect(seen).toEqual(ids);
    expect(pages).toBeGreaterThan(2);
    expect((await client.status()).jobs.map((j) => j.jobId)).toEqual(ids);
    const cli = await rivulet(['status', '--json', '--scheduler', cluster.addresses().scheduler], cliSecurityEnv(cluster));
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect((JSON.parse(cli.stdout) as { jobs: unknown[] }).jobs).toHaveLength(12);
    s.close();
  }, 60_000);

  it('receiver quotas: RESOURCE_EXHAUSTED with a retry hint; pushers wait, get through, and every acked record counts once', async () => {
    const job = await client.submitJob(wordcount);
    const out = watchIdBatches(client, job.jobId);
    // One stream per client: a raw second call while a pusher holds one is refused at open, with retry-after-ms.
    const holder = client.pusher('lines');
    await holder.push([idLine(0)]);
    const r = receiver();
    const refused = await new Promise<ServiceError>((resolve) => {
      const call = r.push(new Metadata());
      call.on('data', (_: PushResponse__Output) => undefined);
      call.on('error', resolve);
      call.write({ open: { stream: 'lines', clientId: 'bounds' } });
    });
    r.close();
    expect(refused.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/maxClientStreams=1\); retry after 1000 ms/);
    expect(refused.metadata.get('retry-after-ms')).toEqual(['1000']);
    await holder.close();

    // Three pushers at once, ~700 KB in all: over both the stream quota and the 256 KiB/s rate.
    const per = 2000;
    const pad = ' x'.repeat(50);
    const pushers = [0, 1, 2].map(() => client.pusher('lines', { maxBatchRecords: 250 }));
    const started = Date.now();
    const counts = await Promise.all(
      pushers.map(async (p, k) => {
        const lines = Array.from({ length: per }, (_, i) => idLine(1 + k * per + i) + pad);
        const n = await p.push(lines);
        await p.close();
        return n;
      }),
    );
    expect(counts).toEqual([per, per, per]);
    expect(pushers.reduce((a, p) => a + p.retries, 0)).toBeGreaterThan(0);
    expect(Date.now() - started).toBeGreaterThan(1000); // the rate quota held them back
    const acked = new Set(Array.from({ length: 3 * per + 1 }, (_, i) => i));
    await out.until(acked, 30_000);
    // Every acked id exactly once, and each batch's word count is that of exactly its lines ('x' included).
    const padded = out.batches.map((b) => {
      const counts = new Map(b.counts);
      counts.delete('x');
      return { t: b.t, counts };
    });
    expectExactWordCounts(padded, acked, 3 * per + 1);
    await client.stopJob(job.jobId);
  }, 60_000);

  it('the status page refuses a foreign Host (DNS rebinding) and anything but GET/HEAD', async () => {
    // Security is on: the page needs a token too (tests/security/access.test.ts).
    const security = cluster.addresses().security;
    const auth = () => ({ Authorization: `Bearer ${security.insecure ? '' : (security.token ?? '')}` });
    const url = new URL('api/status', cluster.addresses().statusPage!).href;
    const port = new URL(url).port;
    expect(await getWithHost(url, `127.0.0.1:${port}`, 'GET', auth())).toBe(200);
    expect(await getWithHost(url, `localhost:${port}`, 'GET', auth())).toBe(200);
    expect(await getWithHost(url, `attacker.example:${port}`, 'GET', auth())).toBe(421);
    expect(await getWithHost(url, `localhost:${port}`, 'POST', auth())).toBe(405);
    expect(await getWithHost(url, `localhost:${port}`, 'PUT', auth())).toBe(405);
  });
});
