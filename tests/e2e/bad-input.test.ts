/**
 * Bad input against the real services: each case ends in a precise gRPC
 * status and leaves every service running (checked after each case).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status as Status, Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { packRecords, packValue } from '../../lib/codec/records.js';
import { dial, unary, waitForServing } from '../../lib/grpc/client.js';
import type { TransportSecurity } from '../../lib/security/transport.js';
import type { PushResponse__Output } from '../../lib/proto/gen/rivulet/v1/PushResponse.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rivulet-bad-'));

function jobFile(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

/** Push raw messages on one Push call and collect responses until it ends. */
async function rawPush(a: { receiver: string; security: TransportSecurity }, messages: object[]): Promise<{ responses: PushResponse__Output[]; code: number; details: string }> {
  const client = dial.receiver(a.receiver, { maxMessageBytes: 64 * 1024 * 1024, security: a.security });
  const call = client.push(new Metadata(), { deadline: Date.now() + 15_000 });
  const responses: PushResponse__Output[] = [];
  return await new Promise((resolve) => {
    call.on('data', (r: PushResponse__Output) => {
      responses.push(r);
      if (r.ack || r.nack) call.end();
    });
    call.on('error', (err: { code: number; details: string }) => {
      client.close();
      resolve({ responses, code: err.code, details: err.details });
    });
    call.on('end', () => {
      client.close();
      resolve({ responses, code: Status.OK, details: '' });
    });
    for (const m of messages) call.write(m);
  });
}

describe('bad input gets a precise status and nothing crashes', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster({
      executors: 2,
      slots: 1,
      batchInterval: '200ms',
      blockInterval: '100ms',
      logLevel: 'warn',
      env: { receiver: { RIVULET_MAX_MESSAGE_BYTES: '1MiB' }, scheduler: { RIVULET_MAX_TASK_ATTEMPTS: '2' } },
    }, (started) => ({ cluster, client } = started));

  async function allServing(): Promise<void> {
    const a = cluster.addresses();
    for (const address of [a.receiver, a.scheduler, a.lineage, ...a.executors]) await waitForServing(address, 5000, a.security);
  }

  it('a job file that does not parse is refused with its file and line', async () => {
    const path = jobFile('broken.ts', "import { defineJob } from 'rivulet';\nexport default defineJob((ctx) => {\n  ctx.receiverStream('x').map(\n});\n");
    await expect(client.submitJob(path)).rejects.toThrow(/broken\.ts:\d+:\d+/);
    // The scheduler itself refuses a bundle that is not JavaScript.
    const sched = dial.scheduler(cluster.addresses().scheduler, { security: cluster.addresses().security });
    const err = await unary(sched, sched.submitJob, { name: 'x', bundle: Buffer.from('this is not js'), source: 'raw.js' }).catch((e) => e);
    sched.close();
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(err.message).toMatch(/raw\.js: not valid JavaScript/);
    await allServing();
  });

  it('a job that throws while building is refused with its error', async () => {
    const path = jobFile('throws.ts', "import { defineJob } from 'rivulet';\nexport default defineJob(() => { throw new Error('no config for you'); });\n");
    const err = await client.submitJob(path).catch((e) => e);
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(err.message).toMatch(/threw while building: Error: no config for you/);
    await allServing();
  });

  it('unknown job ids and outputs are NOT_FOUND', async () => {
    const err = await client.stopJob('job-nope').catch((e) => e);
    expect(err.code).toBe(Status.NOT_FOUND);
    expect(err.message).toMatch(/job "job-nope" not found/);
    const watch = async () => {
      for await (const _ of client.watchOutput('job-nope', 'counts')) void _;
    };
    await expect(watch()).rejects.toMatchObject({ code: Status.NOT_FOUND });
    await allServing();
  });

  it('pushing to a stream no job reads is FAILED_PRECONDITION naming the stream', async () => {
    const pusher = client.pusher('nobody-reads-this');
    const err = await pusher.push(['a']).catch((e) => e);
    expect(err.code).toBe(Status.FAILED_PRECONDITION);
    expect(err.message).toMatch(/nobody-reads-this/);
    await allServing();
  });

  it('an oversized message is RESOURCE_EXHAUSTED and a malformed payload INVALID_ARGUMENT', async () => {
    const job = await client.submitJob(wordcount);
    const big = 'x'.repeat(2 * 1024 * 1024);
    const over = await rawPush(cluster.addresses(), [
      { open: { stream: 'lines', clientId: 't' } },
      { records: { seq: 1, batch: { count: 1, payload: packRecords([big]) } } },
    ]);
    expect(over.code).toBe(Status.RESOURCE_EXHAUSTED);
    const bad = await rawPush(cluster.addresses(), [
      { open: { stream: 'lines', clientId: 't' } },
      { records: { seq: 1, batch: { count: 3, payload: Buffer.from([0xd9, 0x20, 0x61]) } } },
    ]);
    expect(bad.code).toBe(Status.INVALID_ARGUMENT);
    // Well-formed MessagePack that is not plain data (a date: an extension type the client never writes) is refused too.
    const dated = await rawPush(cluster.addresses(), [
      { open: { stream: 'lines', clientId: 't' } },
      { records: { seq: 1, batch: { count: 2, payload: Buffer.concat([packValue('a line'), packValue(new Date(0))]) } } },
    ]);
    expect(dated.code).toBe(Status.INVALID_ARGUMENT);
    expect(dated.details).toMatch(/record 1: a MessagePack extension type .* is not plain data/);
    expect(dated.responses.some((r) => r.ack)).toBe(false);
    const noOpen = await rawPush(cluster.addresses(), [{ records: { seq: 1, batch: { count: 1, payload: packRecords(['a']) } } }]);
    expect(noOpen.code).toBe(Status.INVALID_ARGUMENT);
    // The same stream still takes good records.
    const ok = await rawPush(cluster.addresses(), [
      { open: { stream: 'lines', clientId: 't' } },
      { records: { seq: 1, batch: { count: 2, payload: packRecords(['good line', 'another']) } } },
    ]);
    expect(ok.responses.some((r) => r.ack?.count === 2)).toBe(true);
    await client.stopJob(job.jobId);
    await allServing();
  });

  it('a user function that throws fails the job with its error; the cluster keeps serving other jobs', async () => {
    const path = jobFile(
      'explodes.ts',
      "import { defineJob } from 'rivulet';\nexport default defineJob((ctx) => {\n  ctx.receiverStream<string>('boom').map((s) => { if (s === 'bad') throw new RangeError('bad record'); return s; }).output('out');\n});\n",
    );
    const job = await client.submitJob(path);
    const watched = (async () => {
      for await (const _ of client.watchOutput(job.jobId, 'out')) void _;
    })().catch((e) => e);
    const pusher = client.pusher('boom');
    await pusher.push(['fine', 'bad']);
    await pusher.close();
    const err = await watched;
    expect(err?.code).toBe(Status.ABORTED);
    expect(err.message).toMatch(/failed 2 times; last error: user function of map \(node 1\) threw RangeError: bad record/);
    const st = await client.status();
    const failed = st.jobs.find((j) => j.jobId === job.jobId)!;
    expect(failed.state).toBe('FAILED');
    expect(failed.error).toMatch(/RangeError: bad record/);
    await allServing();
    // Another job still runs to completion on the same executors.
    const wc = await client.submitJob(wordcount);
    const got = (async () => {
      for await (const b of client.watchOutput(wc.jobId, 'counts')) if (b.records.length > 0) return b.records;
    })();
    const p2 = client.pusher('lines');
    await p2.push(['still alive']);
    await p2.close();
    expect(new Map((await got) as [string, number][])).toEqual(new Map([['still', 1], ['alive', 1]]));
    await client.stopJob(wc.jobId);
  });

  it('with no executor alive, pushes are UNAVAILABLE and submissions too', async () => {
    const job = await client.submitJob(wordcount);
    for (const e of cluster.executors) await e.kill();
    // Wait until the scheduler has declared both lost (heartbeat timeout).
    for (let i = 0; i < 100; i++) {
      const st = await client.status();
      if (st.executors.every((e) => e.state === 'LOST')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // A pusher retries UNAVAILABLE (executors may come back) for retryTimeoutMs, then fails saying so.
    const pusher = client.pusher('lines', { retryTimeoutMs: 1500 });
    const err = await pusher.push(['nowhere to go']).catch((e) => e);
    expect(err.code).toBe(Status.UNAVAILABLE);
    expect(err.message).toMatch(/no executors alive.*\(retried for [\d.]+ s; retryTimeoutMs\)$/);
    expect(pusher.retries).toBeGreaterThan(0);
    const sub = await client.submitJob(wordcount).catch((e) => e);
    expect(sub.code).toBe(Status.UNAVAILABLE);
    expect(sub.message).toMatch(/no executors alive/);
    const a = cluster.addresses();
    for (const address of [a.receiver, a.scheduler, a.lineage]) await waitForServing(address, 5000, a.security);
    await client.stopJob(job.jobId);
  });
});
