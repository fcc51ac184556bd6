/**
 * Hostile job code against the real services: a job that loops or exits at
 * the top of its module or in a timer, or patches a built-in prototype, must
 * neither stall nor kill the scheduler (GetStatus answers within 1 s the
 * whole time, sampled while it happens), nor kill an executor (same
 * incarnations at the end), nor change what another running job computes;
 * a foreachBatch that never returns fails its own job, naming the timeout.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status as Status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rivulet-user-code-'));

/** A job file reading `stream`, with `prelude` at the top of its module. */
function jobFile(name: string, stream: string, prelude: string): string {
  const path = join(dir, `${name}.ts`);
  writeFileSync(
    path,
    `import { defineJob } from 'rivulet';\n${prelude}\n` +
      `export default defineJob((ctx) => {\n  ctx.receiverStream<string>('${stream}').flatMap((l) => l.split(' ')).map((w): [string, number] => [w, 1]).reduceByKey((a, b) => a + b).output('out');\n});\n`,
  );
  return path;
}

/** Calls GetStatus every 100 ms until stopped; every call must answer within 1 s. */
function sampleStatus(client: RivuletClient) {
  let stopped = false;
  const slow: string[] = [];
  let calls = 0;
  let maxMs = 0;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      // The client's own deadline bounds a call that never answers; the answer's time is the measure.
      const outcome = await client.status({ recentBatches: 1 }).then(
        () => 'ok',
        (e: unknown) => `failed: ${(e as Error).message}`,
      );
      const ms = performance.now() - started;
      calls++;
      maxMs = Math.max(maxMs, ms);
      if (outcome !== 'ok') slow.push(`${new Date().toISOString()} ${outcome}`);
      else if (ms > 1000) slow.push(`${new Date().toISOString()} answered after ${Math.round(ms)} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { calls, maxMs, slow };
    },
  };
}

/**
 * Word counts of `jobId`'s output `output` until `total` words are counted. From the job's first batch: the watch
 * starts just before the test pushes, and a watch from "now" that reached the scheduler only after the batch holding
 * the records was committed would wait forever. Bounded (30 s): a wait that runs out says what the cluster was doing
 * — the job's state and last batches, the executors' slots and tasks — since the split test hung twice in clean-clone
 * CI runs (60 s, after both jobs were submitted) and never on a developer's machine.
 */
async function countsUntil(client: RivuletClient, jobId: string, output: string, total: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let n = 0;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 30_000);
  try {
    for await (const b of client.watchOutput(jobId, output, { fromBeginning: true, signal: abort.signal })) {
      for (const [w, c] of b.records as [string, number][]) {
        counts.set(w, (counts.get(w) ?? 0) + c);
        n += c;
      }
      if (n >= total) break;
    }
  } catch (e) {
    if (!abort.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
  }
  if (n < total) {
    const st = await client.status({ recentBatches: 10 });
    const job = st.jobs.find((j) => j.jobId === jobId);
    const batches = (job?.recentBatches ?? []).map((b) => `${b.batchTimeMs}:${b.state}:in=${b.inputRecords}:tasks=${b.tasks}${b.waitingReason ? `:waiting=${b.waitingReason}` : ''}${b.error ? `:error=${b.error}` : ''}`);
    const executors = st.executors.map((e) => `${e.executorId}:${e.state}:free=${e.freeSlots}/${e.slots}:running=${e.runningTasks}:queued=${e.queuedTasks}`);
    throw new Error(
      `${output} of ${jobId}: ${n} of ${total} words after 30 s; job ${job?.state ?? 'unknown'} ${job?.error ?? ''}; ` +
        `last batches ${batches.join(' ')}; executors ${executors.join(' ')}; jobs ${st.jobs.map((j) => `${j.jobId}:${j.state}`).join(' ')}`,
    );
  }
  return counts;
}

describe('user code stays out of the control plane and away from other jobs', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  let sampler: ReturnType<typeof sampleStatus>;
  let epochs: Map<string, string>;
  useLocalCluster(
    {
      executors: 2,
      slots: 2,
      batchInterval: '200ms',
      blockInterval: '100ms',
      logLevel: 'error',
      env: {
        scheduler: { RIVULET_JOB_BUILD_TIMEOUT: '1s', RIVULET_FOREACH_BATCH_TIMEOUT: '1s', RIVULET_TASK_TIMEOUT: '2s', RIVULET_SPECULATION: 'false' },
      },
    },
    (started) => ({ cluster, client } = started),
  );

  beforeAll(async () => {
    epochs = new Map((await client.status()).executors.map((e) => [e.executorId, String(e.epoch)]));
    expect(epochs.size).toBe(2);
    sampler = sampleStatus(client);
  });

  afterAll(async () => {
    await sampler?.stop();
  });

  /** What the sampler saw during this test; the next test gets a fresh one even when this one's assertions fail. */
  async function sampledDuringTest() {
    const sampled = await sampler.stop();
    sampler = sampleStatus(client);
    return sampled;
  }

  it('a job that loops or exits at the top of its module is refused; one that does so in a timer leaves the cluster running', async () => {
    const victim = await client.submitJob(wordcount);

    const loop = client.submitJob(jobFile('top-loop', 'a', 'while (Date.now() > 0) { /* forever */ }'));
    await expect(loop).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
    await expect(loop).rejects.toThrow(/building the job took longer than 1000 ms \(jobBuildTimeout\)/);

    const exit = client.submitJob(jobFile('top-exit', 'b', 'process.exit(3);'));
    await expect(exit).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
    await expect(exit).rejects.toThrow(/ended its worker thread \(exit code 3, e\.g\. process\.exit\) while building/);

    // In timers: whatever the module scheduled dies with the scheduler's build worker; on executors the job's
    // own workers spin or exit, and are stopped and replaced. The job may run or fail; nothing else may.
    const timers: string[] = [];
    for (const [name, prelude] of [
      ['timer-loop', 'setTimeout(() => { for (;;) { /* forever */ } }, 0);'],
      ['timer-exit', 'setTimeout(() => process.exit(3), 0);'],
    ] as const) {
      try {
        timers.push((await client.submitJob(jobFile(name, name, prelude))).jobId);
      } catch (e) {
        expect((e as Error).message).toMatch(/exit code 3/);
      }
      const p = client.pusher(name);
      await p.push(['x y', 'y z']);
      await p.close();
    }
    // Their code has run (and spun or exited) in the executors' workers once each accepted job has finished a batch
    // that ran tasks — with or without input: each of its batches takes taskTimeouts (a worker that spins holds its
    // slot until then), so the batch holding the pushed lines may be many batches away — or has failed.
    await waitFor(
      async () => {
        const st = await client.status({ recentBatches: 100 });
        return timers.every((id) => {
          const j = st.jobs.find((x) => x.jobId === id);
          return !j || j.state !== 'RUNNING' || j.recentBatches.some((b) => b.tasks > 0 && (b.state === 'COMPLETED' || b.state === 'FAILED'));
        });
      },
      'the timer jobs finished a batch that ran tasks, or failed',
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    const words = ['the quick brown fox', 'the lazy dog', 'the end'];
    const got = countsUntil(client, victim.jobId, 'counts', 9);
    const p = client.pusher('lines');
    await p.push(words);
    await p.close();
    expect(await got).toEqual(new Map([['the', 3], ['quick', 1], ['brown', 1], ['fox', 1], ['lazy', 1], ['dog', 1], ['end', 1]]));

    const st = await client.status();
    expect(st.jobs.find((j) => j.jobId === victim.jobId)?.state).toBe('RUNNING');
    expect(new Map(st.executors.map((e) => [e.executorId, String(e.epoch)]))).toEqual(epochs);
    expect(st.executors.every((e) => e.state === 'ALIVE')).toBe(true);
    for (const e of cluster.executors) expect(e.process.exitCode).toBeNull();
    for (const id of [victim.jobId, ...timers]) await client.stopJob(id).catch(() => undefined);
    const sampled = await sampledDuringTest();
    expect(sampled.slow).toEqual([]);
    expect(sampled.calls).toBeGreaterThan(20);
  }, 90_000);

  it("a job patching String.prototype.split cannot change another running job's output", async () => {
    // Progress, so that a timeout says where it stood.
    const t0 = Date.now();
    const step = (what: string) => console.log(`[user-code/split] +${Date.now() - t0} ms: ${what}`);
    const victim = await client.submitJob(wordcount);
    const patcher = await client.submitJob(
      jobFile(
        'patch-split',
        'patched',
        "const split = String.prototype.split;\n" +
          "String.prototype.split = function (this: string, ...args: unknown[]) { return [...(split as (...a: unknown[]) => string[]).apply(this, args), 'injected']; } as never;",
      ),
    );
    step('both jobs submitted');
    // The patching job's own output shows its patch in force on the executors.
    const patched = countsUntil(client, patcher.jobId, 'out', 3);
    const pp = client.pusher('patched');
    await pp.push(Array.from({ length: 8 }, (_, i) => `a${i} b`));
    await pp.close();
    step('the patcher\'s records acked');
    expect((await patched).get('injected')).toBeGreaterThanOrEqual(1);
    step('the patcher counted its own records');

    const words = Array.from({ length: 40 }, (_, i) => `w${i % 7} common`);
    const got = countsUntil(client, victim.jobId, 'counts', 80);
    const p = client.pusher('lines');
    await p.push(words);
    await p.close();
    const counts = await got;
    step('the victim counted its records');
    expect(counts.get('common')).toBe(40);
    expect(counts.has('injected')).toBe(false);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(80);
    for (const id of [victim.jobId, patcher.jobId]) await client.stopJob(id);
    step('both jobs stopped');
    const sampled = await sampledDuringTest();
    expect(sampled.slow).toEqual([]);
  }, 60_000);

  it('a foreachBatch that loops fails its job naming foreachBatchTimeout; the scheduler answers throughout', async () => {
    const path = join(dir, 'foreach-loop.ts');
    writeFileSync(
      path,
      "import { defineJob } from 'rivulet';\nexport default defineJob((ctx) => {\n" +
        "  ctx.receiverStream<string>('fe').foreachBatch((records) => { if (records.includes('loop')) for (;;) { /* forever */ } });\n});\n",
    );
    const job = await client.submitJob(path);
    const p = client.pusher('fe');
    await p.push(['fine', 'loop']);
    await p.close();
    let state: { state: string; error?: string } | undefined;
    for (let i = 0; i < 100 && state?.state !== 'FAILED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await client.status()).jobs.find((j) => j.jobId === job.jobId);
    }
    expect(state?.state).toBe('FAILED');
    expect(state?.error).toMatch(/foreachBatch function \(node \d+\) did not return within 1000 ms \(foreachBatchTimeout\)/);
    const sampled = await sampledDuringTest();
    expect(sampled.slow).toEqual([]);
  }, 30_000);
});
