/**
 * The scheduler's documented limits on a real cluster (nats-server and every
 * service as processes from dist/), each set low through its RIVULET_*
 * variable: maxBundleBytes, jobBuildTimeout, outputRetentionBatches,
 * outputRetentionBytes and maxQueuedBatches (with onFallingBehind=fail, and
 * with the default, backpressure, on a second cluster) — each refusal or
 * bound checked as the README states it; and that executors do not keep the
 * code of ended jobs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status as Status } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import type { OutputBatch, RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { packRecords } from '../../lib/codec/records.js';
import { cliSecurityEnv, useLocalCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const wordcount = join(repo, 'examples/wordcount.ts');
const dir = mkdtempSync(join(tmpdir(), 'rivulet-limits-'));

const RETAIN_BATCHES = 8;
const RETAIN_BYTES = 2048;
const BUILD_TIMEOUT_MS = 500;
const MAX_QUEUED = 5;

function jobFile(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

/** A job whose every record holds an executor slot for 3 s, far longer than 5 batches of 200 ms. */
function slowJob(stream: string): string {
  return jobFile(
    `${stream}.ts`,
    "import { defineJob } from 'rivulet';\nexport default defineJob((ctx) => {\n" +
      `  ctx.receiverStream<string>('${stream}').map((s) => { const end = Date.now() + 3000; while (Date.now() < end) {} return s; }).output('out');\n});\n`,
  );
}

function rivulet(args: string[], extraEnv: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RIVULET_'))), ...extraEnv };
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repo, 'bin/rivulet.js'), ...args], { cwd: dir, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** Every batch committed after the watch started, until the job ends. */
function watchLive(client: RivuletClient, jobId: string, output: string): { batches: OutputBatch[]; ended: Promise<unknown> } {
  const batches: OutputBatch[] = [];
  const ended = (async () => {
    for await (const b of client.watchOutput(jobId, output)) batches.push(b);
  })().catch((e: unknown) => e);
  return { batches, ended };
}

async function replay(client: RivuletClient, jobId: string, output: string): Promise<OutputBatch[]> {
  const out: OutputBatch[] = [];
  // The job is stopped: the replay of what is retained is all this watch delivers.
  for await (const b of client.watchOutput(jobId, output, { fromBeginning: true })) out.push(b);
  return out;
}

describe('scheduler limits', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    {
      executors: 2,
      slots: 1,
      batchInterval: '200ms',
      blockInterval: '100ms',
      env: {
        scheduler: {
          RIVULET_MAX_BUNDLE_BYTES: '64KiB',
          RIVULET_JOB_BUILD_TIMEOUT: `${BUILD_TIMEOUT_MS}ms`,
          RIVULET_OUTPUT_RETENTION_BATCHES: String(RETAIN_BATCHES),
          RIVULET_OUTPUT_RETENTION_BYTES: String(RETAIN_BYTES),
          RIVULET_MAX_QUEUED_BATCHES: String(MAX_QUEUED),
          RIVULET_ON_FALLING_BEHIND: 'fail',
        },
      },
    },
    (started) => ({ cluster, client } = started),
  );

  it('maxBundleBytes: an oversized bundle is refused with RESOURCE_EXHAUSTED naming the option', async () => {
    const big = jobFile(
      'big-bundle.ts',
      `import { defineJob } from 'rivulet';\nconst PAD = ${JSON.stringify('x'.repeat(100_000))};\n` +
        `export default defineJob((ctx) => { ctx.receiverStream<string>('big-bundle').map((s) => s + PAD.slice(0, 0)).output('o'); });\n`,
    );
    const err = await client.submitJob(big).catch((e: unknown) => e);
    expect((err as { code?: number }).code).toBe(Status.RESOURCE_EXHAUSTED);
    expect((err as Error).message).toMatch(/^job bundle is \d+ bytes, over the limit of 65536 \(maxBundleBytes\)$/);
    // As the CLI prints it: one line, exit 1.
    const r = await rivulet(['submit', big, '--scheduler', cluster.addresses().scheduler], cliSecurityEnv(cluster));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^rivulet submit: RESOURCE_EXHAUSTED: job bundle is \d+ bytes, over the limit of 65536 \(maxBundleBytes\)\n$/);
    // A bundle under the limit is accepted.
    const ok = await client.submitJob(wordcount);
    await client.stopJob(ok.jobId);
  });

  it('jobBuildTimeout: a job that loops while building is refused with a clear error in about that time', async () => {
    const loops = jobFile('loops.ts', "import { defineJob } from 'rivulet';\nexport default defineJob(() => {\n  for (;;) {}\n});\n");
    const started = Date.now();
    const err = await client.submitJob(loops).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect((err as { code?: number }).code).toBe(Status.INVALID_ARGUMENT);
    expect((err as Error).message).toBe(`loops.ts: building the job took longer than ${BUILD_TIMEOUT_MS} ms (jobBuildTimeout)`);
    expect(elapsed).toBeGreaterThanOrEqual(BUILD_TIMEOUT_MS);
    expect(elapsed).toBeLessThan(BUILD_TIMEOUT_MS + 2500); // bundling and the call included
    // The scheduler is not left stuck: it answers and still sees both executors.
    const st = await client.status();
    expect(st.executors.filter((e) => e.state === 'ALIVE')).toHaveLength(2);
  });

  it('outputRetentionBatches: watchOutput fromBeginning replays only the last N committed batches', async () => {
    const job = await client.submitJob(wordcount);
    const live = watchLive(client, job.jobId, 'counts');
    const pusher = client.pusher('lines');
    await pusher.push(['a b a']);
    await pusher.close();
    await waitFor(() => live.batches.length >= RETAIN_BATCHES + 4, `${RETAIN_BATCHES + 4} batches committed`);
    await client.stopJob(job.jobId);
    expect(await live.ended).toBeUndefined();
    const replayed = await replay(client, job.jobId, 'counts');
    expect(replayed).toHaveLength(RETAIN_BATCHES);
    expect(replayed).toEqual(live.batches.slice(-RETAIN_BATCHES));
  });

  it('outputRetentionBytes: the replay holds at most that many bytes of output (the newest batches)', async () => {
    const job = jobFile('identity.ts', "import { defineJob } from 'rivulet';\nexport default defineJob((ctx) => { ctx.receiverStream<string>('big').output('lines'); });\n");
    const submitted = await client.submitJob(job);
    const live = watchLive(client, submitted.jobId, 'lines');
    const pusher = client.pusher('big');
    // Each record packs to ~1.5 KB: two of them are over the 2 KiB bound.
    const records = ['one', 'two', 'three'].map((name) => `${name}:${'x'.repeat(1500)}`);
    const seenAt: number[] = [];
    for (const r of records) {
      await pusher.push([r]);
      await waitFor(() => live.batches.some((b) => b.records.includes(r)), `${r.slice(0, 5)} committed`);
      seenAt.push(live.batches.findIndex((b) => b.records.includes(r)));
    }
    await pusher.close();
    await client.stopJob(submitted.jobId);
    expect(await live.ended).toBeUndefined();
    const all = live.batches;
    // Precondition: the batch count bound alone would have kept 'two'.
    expect(seenAt[1], 'record two committed within the last outputRetentionBatches batches').toBeGreaterThanOrEqual(all.length - RETAIN_BATCHES);

    const replayed = await replay(client, submitted.jobId, 'lines');
    expect(replayed).toEqual(all.slice(all.length - replayed.length)); // the newest batches
    const kept = replayed.flatMap((b) => b.records as string[]).map((r) => r.split(':')[0]);
    expect(kept).toEqual(['three']);
    const bytes = replayed.reduce((n, b) => n + (b.records.length > 0 ? packRecords(b.records).length : 0), 0);
    expect(bytes).toBeLessThanOrEqual(RETAIN_BYTES);
  });

  it('job bundles: an executor holds a job\'s code while a job that loaded it runs, and drops it once the last one ends', async () => {
    const held = async () =>
      (await client.status({ recentBatches: 0 })).executors.filter((e) => e.state === 'ALIVE').map((e) => e.jobBundles);
    // Every job of the tests before this one has ended (or was refused): no executor holds a bundle.
    await waitFor(async () => (await held()).every((n) => n === 0), 'no bundle held before the test');
    // Two jobs of the same code (one bundle hash).
    const code = jobFile('shared-code.ts', "import { defineJob } from 'rivulet';\nexport default defineJob((ctx) => { ctx.receiverStream<string>('shared').map((s) => s.toUpperCase()).output('upper'); });\n");
    const a = await client.submitJob(code);
    const b = await client.submitJob(code);
    const liveA = watchLive(client, a.jobId, 'upper');
    const liveB = watchLive(client, b.jobId, 'upper');
    const pusher = client.pusher('shared');
    const committed = (live: { batches: OutputBatch[] }, r: string) => live.batches.some((batch) => batch.records.includes(r));
    await pusher.push(['one']);
    await waitFor(() => committed(liveA, 'ONE') && committed(liveB, 'ONE'), 'both jobs processed "one"');
    await waitFor(async () => (await held()).some((n) => n === 1), 'the bundle held');
    // One copy per executor, however many jobs use it.
    expect(Math.max(...(await held()))).toBe(1);
    // The end of one job leaves the code to the other, wherever it ran: b goes on processing.
    await client.stopJob(a.jobId);
    expect(await liveA.ended).toBeUndefined();
    await pusher.push(['two']);
    // (Were the code gone from an executor b had loaded it on, b's tasks there would fail "not loaded" on every
    // attempt — the scheduler loads a job's bundle once per executor — and b would fail instead.)
    await waitFor(() => committed(liveB, 'TWO'), 'b processed "two" after a ended');
    expect(liveB.batches.flatMap((x) => x.records)).toEqual(['ONE', 'TWO']);
    expect((await client.status({ recentBatches: 0 })).jobs.find((j) => j.jobId === b.jobId)).toMatchObject({ state: 'RUNNING', error: '' });
    await pusher.close();
    // The last job using it ended: every executor drops it (told on its task stream, seen in its next heartbeats).
    await client.stopJob(b.jobId);
    expect(await liveB.ended).toBeUndefined();
    await waitFor(async () => (await held()).every((n) => n === 0), 'every executor dropped the bundle');
  });

  it('maxQueuedBatches with onFallingBehind=fail: a job that falls that many batches behind fails, naming both options', async () => {
    // Every record holds an executor slot for 3 s, far longer than 5 batches of 200 ms.
    const job = await client.submitJob(slowJob('slow'));
    const live = watchLive(client, job.jobId, 'out');
    const pusher = client.pusher('slow');
    await pusher.push(['x']);
    await pusher.close();
    const err = await live.ended;
    expect((err as { code?: number })?.code).toBe(Status.ABORTED);
    expect((err as Error).message).toMatch(new RegExp(`job fell ${MAX_QUEUED} batches behind \\(maxQueuedBatches=${MAX_QUEUED}, onFallingBehind=fail\\)`));
    const st = await client.status({ recentBatches: 0 });
    const failed = st.jobs.find((j) => j.jobId === job.jobId)!;
    expect(failed.state).toBe('FAILED');
    expect(failed.error).toMatch(/maxQueuedBatches=5/);
  }, 60_000);
});

describe('scheduler limits: maxQueuedBatches with the default onFallingBehind=backpressure', () => {
  let client: RivuletClient;
  useLocalCluster(
    { executors: 2, slots: 1, batchInterval: '200ms', blockInterval: '100ms', env: { scheduler: { RIVULET_MAX_QUEUED_BATCHES: String(MAX_QUEUED) } } },
    (started) => ({ client } = started),
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a job that falls maxQueuedBatches behind stays RUNNING, says it is falling behind, then catches up with no batch skipped', async () => {
    const job = await client.submitJob(slowJob('slow-bp'));
    const live = watchLive(client, job.jobId, 'out');
    const pusher = client.pusher('slow-bp');
    await pusher.push(['x']);
    await pusher.close();
    const statusOf = async () => (await client.status({ recentBatches: 0 })).jobs.find((j) => j.jobId === job.jobId)!;
    await waitFor(async () => (await statusOf()).fallingBehind, 'the job reported falling behind', { timeoutMs: 10_000 });
    const behind = await statusOf();
    expect(behind.state).toBe('RUNNING');
    expect(behind.queuedBatches).toBe(MAX_QUEUED);
    // The slow record done, the waiting batches are created and run in order: the queue drains.
    await waitFor(async () => !(await statusOf()).fallingBehind && (await statusOf()).queuedBatches <= 2, 'the job caught up', { timeoutMs: 30_000 });
    await waitFor(() => live.batches.some((b) => b.records.includes('x')), 'x committed');
    expect((await statusOf()).state).toBe('RUNNING');
    const times = live.batches.map((b) => b.batchTimeMs);
    // Every batch since the watch started, none skipped.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(200);
    expect(live.batches.flatMap((b) => b.records)).toEqual(['x']);
    await client.stopJob(job.jobId);
  }, 60_000);
});
