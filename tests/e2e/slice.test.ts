/**
 * Spark's DStream.slice on a real cluster (nats-server and every service as
 * processes, real gRPC): SliceOutput / `client.slice` / `rivulet slice` return
 * exactly the batches WatchOutput delivered for the times in the aligned
 * range, say which batches are retained, flag a range that reaches before the
 * oldest retained one (outputRetentionBatches is small here), serve a stopped
 * job's retained outputs, send a batch larger than one gRPC message in pieces,
 * and refuse bad ranges and unknown jobs or outputs clearly.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import type { OutputBatch, RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { dial } from '../../lib/grpc/client.js';
import type { SliceOutputPart__Output } from '../../lib/proto/gen/rivulet/v1/SliceOutputPart.js';
import { cliSecurityEnv, useLocalCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const wordcount = join(repo, 'examples/wordcount.ts');
const BATCH_MS = 200;
const RETAIN_BATCHES = 25;
const dir = mkdtempSync(join(tmpdir(), 'rivulet-slice-'));

/** Every batch of an output as WatchOutput delivers it, from the job's first. */
function watchLive(client: RivuletClient, jobId: string, output: string): { batches: OutputBatch[]; ended: Promise<unknown> } {
  const batches: OutputBatch[] = [];
  const ended = (async () => {
    for await (const b of client.watchOutput(jobId, output, { fromBeginning: true })) batches.push(b);
  })().catch((e: unknown) => e);
  return { batches, ended };
}

const timeOf = (live: OutputBatch[], word: string): number => {
  const b = live.find((x) => (x.records as [string, number][]).some(([w]) => w === word));
  if (!b) throw new Error(`${word} was never committed`);
  return b.batchTimeMs;
};
const between = (live: OutputBatch[], from: number, to: number) => live.filter((b) => b.batchTimeMs >= from && b.batchTimeMs <= to);

/** A SliceOutput call from a raw gRPC client (no SDK checks in between): its messages and the status it ends with. */
function rawSlice(cluster: LocalCluster, request: Record<string, unknown>): Promise<{ status: grpc.StatusObject; parts: SliceOutputPart__Output[] }> {
  const a = cluster.addresses();
  const s = dial.scheduler(a.scheduler, { security: a.security });
  const parts: SliceOutputPart__Output[] = [];
  return new Promise((resolve) => {
    const call = s.sliceOutput(request as never);
    call.on('data', (p: SliceOutputPart__Output) => parts.push(p));
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => {
      s.close();
      resolve({ status, parts });
    });
  });
}
const rawSliceStatus = async (cluster: LocalCluster, request: Record<string, unknown>) => (await rawSlice(cluster, request)).status;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function rivulet(cluster: LocalCluster, args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RIVULET_')));
  const a = cluster.addresses();
  const cwd = mkdtempSync(join(dir, 'cwd-'));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repo, 'bin/rivulet.js'), ...args, '--scheduler', a.scheduler],
      { cwd, env: { ...env, ...cliSecurityEnv(cluster), RIVULET_RECEIVER_ADDRESS: a.receiver }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe('slice of a job output', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    {
      executors: 2,
      slots: 1,
      batchInterval: `${BATCH_MS}ms`,
      blockInterval: '100ms',
      // 1 MiB gRPC messages: a 2 MB output batch travels in pieces.
      env: { all: { RIVULET_MAX_MESSAGE_BYTES: '1MiB' }, scheduler: { RIVULET_OUTPUT_RETENTION_BATCHES: String(RETAIN_BATCHES) } },
    },
    (s) => ({ cluster, client } = s),
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('returns exactly the batches WatchOutput delivered in the aligned range, flags what is no longer retained, and serves a stopped job', async () => {
    const job = await client.submitJob(wordcount);
    const live = watchLive(client, job.jobId, 'counts');
    const pusher = client.pusher('lines');
    // One word per push, each waited for, so each lands in a batch of its own and the batches between are empty.
    const ticks = ['tick0', 'tick1', 'tick2', 'tick3', 'tick4', 'tick5'];
    for (const t of ticks) {
      await pusher.push([t]);
      await waitFor(() => live.batches.some((b) => (b.records as [string, number][]).some(([w]) => w === t)), `${t} committed`);
    }
    await pusher.close();

    // A middle range, both ends off the 200 ms grid: aligned down to tick1's and tick4's batches.
    const from = timeOf(live.batches, 'tick1') + 137;
    const to = timeOf(live.batches, 'tick4') + BATCH_MS - 1;
    const mid = await client.slice(job.jobId, 'counts', from, to);
    expect(mid.fromMs).toBe(timeOf(live.batches, 'tick1'));
    expect(mid.toMs).toBe(timeOf(live.batches, 'tick4'));
    expect(mid.gridMs).toBe(BATCH_MS);
    expect(mid.truncated).toBe(false);
    expect(mid.pending).toBe(false);
    expect(mid.complete).toBe(true);
    expect(mid.jobState).toBe('RUNNING');
    const want = between(live.batches, mid.fromMs, mid.toMs);
    expect(want.length).toBeGreaterThanOrEqual(4);
    expect(mid.batches).toEqual(want);
    expect(mid.batches.map((b) => b.batchTimeMs)).toEqual([...mid.batches.map((b) => b.batchTimeMs)].sort((a, b) => a - b));
    expect(mid.batches.flatMap((b) => b.records)).toEqual([['tick1', 1], ['tick2', 1], ['tick3', 1], ['tick4', 1]]);
    expect(mid.retained!.oldestMs).toBeLessThanOrEqual(mid.fromMs);
    expect(mid.retained!.newestMs).toBeGreaterThanOrEqual(timeOf(live.batches, 'tick5'));

    // Into the future of a running job: what is committed, now, and `pending`.
    const ahead = await client.slice(job.jobId, 'counts', timeOf(live.batches, 'tick5'), Date.now() + 60_000);
    expect(ahead.pending).toBe(true);
    expect(ahead.complete).toBe(false);
    expect(ahead.batches[0]!.records).toEqual([['tick5', 1]]);

    // Once tick0's batch has left the retained ring, a range from it is served in part and flagged.
    const tick0 = timeOf(live.batches, 'tick0');
    await waitFor(() => live.batches.length > live.batches.findIndex((b) => b.batchTimeMs === tick0) + RETAIN_BATCHES, 'tick0 no longer retained', {
      timeoutMs: 30_000,
    });
    const partial = await client.slice(job.jobId, 'counts', tick0, Date.now());
    expect(partial.truncated).toBe(true);
    expect(partial.complete).toBe(false);
    expect(partial.retained!.oldestMs).toBeGreaterThan(tick0);
    expect(partial.retained!.batches).toBe(RETAIN_BATCHES);
    expect(partial.batches).toHaveLength(RETAIN_BATCHES);
    const newest = partial.batches[partial.batches.length - 1]!.batchTimeMs;
    await waitFor(() => live.batches.some((b) => b.batchTimeMs === newest), 'the watch has the newest sliced batch too');
    expect(partial.batches).toEqual(between(live.batches, partial.retained!.oldestMs, newest));
    expect(partial.batches.flatMap((b) => b.records)).not.toContainEqual(['tick0', 1]);

    // Stopped: its retained outputs are still served, the newest RETAIN_BATCHES, and nothing is pending.
    await client.stopJob(job.jobId);
    expect(await live.ended).toBeUndefined();
    const all = await client.slice(job.jobId, 'counts', 0, Date.now());
    expect(all.jobState).toBe('STOPPED');
    expect(all.pending).toBe(false);
    expect(all.batches).toEqual(live.batches.slice(-RETAIN_BATCHES));

    // The CLI prints a slice as `rivulet tail --json` prints batches (ISO --from, epoch-ms --to), and says what it served.
    const cliFrom = all.batches[5]!.batchTimeMs + 50;
    const cliTo = all.batches[10]!.batchTimeMs + 50;
    const cli = await rivulet(cluster, ['slice', job.jobId, 'counts', '--from', new Date(cliFrom).toISOString(), '--to', String(cliTo), '--json']);
    expect(cli.stderr).toContain(`${job.jobId}/counts: 6 batches from ${new Date(cliFrom - 50).toISOString()} to ${new Date(cliTo - 50).toISOString()}`);
    expect(cli.code).toBe(0);
    const printed = cli.stdout.trim().split('\n').map((l) => JSON.parse(l) as { batchTime: number; records: unknown[] });
    expect(printed).toEqual(all.batches.slice(5, 11).map((b) => ({ batchTime: b.batchTimeMs, records: b.records })));
    // And warns, naming the options, for a range before what is retained.
    const old = await rivulet(cluster, ['slice', job.jobId, 'counts', '--from', String(tick0), '--to', String(timeOf(live.batches, 'tick2')), '--non-empty']);
    expect(old.code).toBe(0);
    expect(old.stderr).toContain('warning: the range starts before the oldest retained batch');
    expect(old.stderr).toContain('outputRetentionBatches');
    expect(old.stdout).not.toContain('tick0');
  });

  it('sends a batch larger than one gRPC message in pieces, reassembled intact', async () => {
    const path = join(dir, 'expand.ts');
    writeFileSync(
      path,
      "import { defineJob } from 'rivulet';\n" +
        "export default defineJob((ctx) => { ctx.receiverStream<string>('seeds').flatMap((s) => Array.from({ length: 20000 }, (_, j) => s + '-' + j + '-' + 'x'.repeat(90))).output('big'); });\n",
    );
    const job = await client.submitJob(path);
    const live = watchLive(client, job.jobId, 'big');
    const pusher = client.pusher('seeds');
    await pusher.push(['s']);
    await pusher.close();
    await waitFor(() => live.batches.some((b) => b.records.length > 0), 'the big batch committed');
    const big = live.batches.find((b) => b.records.length > 0)!;
    const sliced = await client.slice(job.jobId, 'big', big.batchTimeMs, big.batchTimeMs);
    expect(sliced.batches).toHaveLength(1);
    expect(sliced.batches[0]!.records).toHaveLength(20_000);
    expect(sliced.batches[0]).toEqual(big);
    // On the wire: the window, then ~2 MB as pieces of under 1 MiB, exactly as WatchOutput sends them.
    const raw = await rawSlice(cluster, { jobId: job.jobId, output: 'big', fromTimeMs: big.batchTimeMs, toTimeMs: big.batchTimeMs });
    expect(raw.status.code).toBe(grpc.status.OK);
    expect(raw.parts[0]!.window).toMatchObject({ batches: 1, fromTimeMs: big.batchTimeMs, toTimeMs: big.batchTimeMs });
    const pieces = raw.parts.slice(1).map((p) => p.batch!);
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    expect(pieces.map((p) => [p.chunk, p.chunks])).toEqual(pieces.map((_, i) => [i, pieces.length]));
    for (const p of pieces) expect(p.records!.payload.length).toBeLessThan(1024 * 1024);
    await client.stopJob(job.jobId);
  });

  it('refuses bad ranges and unknown jobs or outputs with clear statuses', async () => {
    const job = await client.submitJob(wordcount);
    try {
      const refused = async (p: Promise<unknown>) => p.then(() => ({ code: 0, message: '' }), (e: { code: number; message: string }) => e);
      const reversed = await refused(client.slice(job.jobId, 'counts', 5000, 4000));
      expect(reversed.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(reversed.message).toContain('from (5000) is after to (4000)');
      expect((await refused(client.slice(job.jobId, 'counts', 1.5, 4000))).code).toBe(grpc.status.INVALID_ARGUMENT);

      // The scheduler checks too, whoever calls it.
      const negative = await rawSliceStatus(cluster, { jobId: job.jobId, output: 'counts', fromTimeMs: -5, toTimeMs: 10 });
      expect(negative.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(negative.details).toBe('SliceOutput: from must be a whole, non-negative number of epoch milliseconds (got -5)');
      const backwards = await rawSliceStatus(cluster, { jobId: job.jobId, output: 'counts', fromTimeMs: 9000, toTimeMs: 10 });
      expect(backwards.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(backwards.details).toContain('from (9000) is after to (10)');

      const noOutput = await refused(client.slice(job.jobId, 'nope', 0, 10));
      expect(noOutput.code).toBe(grpc.status.NOT_FOUND);
      expect(noOutput.message).toContain('has no output "nope"; its outputs are: counts');
      const noJob = await refused(client.slice('job-missing', 'counts', 0, 10));
      expect(noJob.code).toBe(grpc.status.NOT_FOUND);

      // The CLI: a bad time is a usage error naming the flag; a refusal is one line with its status.
      const badFlag = await rivulet(cluster, ['slice', job.jobId, 'counts', '--from', 'yesterday']);
      expect(badFlag.code).toBe(2);
      expect(badFlag.stderr).toContain('rivulet slice: --from is not a time');
      const missing = await rivulet(cluster, ['slice', job.jobId, 'nope', '--from', '-10s']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('NOT_FOUND');
    } finally {
      await client.stopJob(job.jobId);
    }
  });
});
