/**
 * A runaway user function against the real services: the executor stops the
 * worker running it after the scheduler's taskTimeout, the attempt is
 * retried, the batch (and job) fails with an error naming the operator and
 * the timeout, and another job on the same executors runs on.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { waitForServing } from '../../lib/grpc/client.js';
import { useLocalCluster } from '../helpers/cluster.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rivulet-timeout-'));

describe('taskTimeout stops a runaway task', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    {
      executors: 2,
      slots: 2,
      batchInterval: '200ms',
      blockInterval: '100ms',
      logLevel: 'warn',
      env: { scheduler: { RIVULET_TASK_TIMEOUT: '1s', RIVULET_MAX_TASK_ATTEMPTS: '2', RIVULET_SPECULATION: 'false' } },
    },
    (started) => ({ cluster, client } = started),
  );

  it('fails the batch naming the operator and the timeout; the other job runs on', async () => {
    const wc = await client.submitJob(wordcount);
    const path = join(dir, 'spin.ts');
    writeFileSync(
      path,
      "import { defineJob } from 'rivulet';\nexport default defineJob((ctx) => {\n" +
        "  ctx.receiverStream<string>('spin').map((s) => { if (s === 'forever') for (;;) { /* runaway */ } return s; }).output('out');\n});\n",
    );
    const job = await client.submitJob(path);
    const watched = (async () => {
      for await (const _ of client.watchOutput(job.jobId, 'out')) void _;
    })().catch((e: unknown) => e);
    const pusher = client.pusher('spin');
    await pusher.push(['fine', 'forever', 'fine too']);
    await pusher.close();
    const err = (await watched) as { code?: number; message: string };
    expect(err.code).toBe(Status.ABORTED);
    expect(err.message).toMatch(/failed 2 times; last error: task timed out after 1s \(taskTimeout\) while running operator map \(node 1\)/);
    const st = await client.status();
    const failed = st.jobs.find((j) => j.jobId === job.jobId)!;
    expect(failed.state).toBe('FAILED');
    expect(failed.error).toMatch(/timed out after 1s \(taskTimeout\).*map \(node 1\)/);
    // Every executor still serves, with all its slots (the stopped workers were replaced).
    const a = cluster.addresses();
    for (const address of [a.receiver, a.scheduler, a.lineage, ...a.executors]) await waitForServing(address, 5000, a.security);
    const wcStatus = (await client.status()).jobs.find((j) => j.jobId === wc.jobId)!;
    expect(wcStatus.state).toBe('RUNNING');
    const got = (async () => {
      for await (const b of client.watchOutput(wc.jobId, 'counts')) if (b.records.length > 0) return b.records;
    })();
    const p2 = client.pusher('lines');
    await p2.push(['still alive']);
    await p2.close();
    expect(new Map((await got) as [string, number][])).toEqual(new Map([['still', 1], ['alive', 1]]));
    await client.stopJob(wc.jobId);
  }, 60_000);
});
