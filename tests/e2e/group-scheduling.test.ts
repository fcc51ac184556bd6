/**
 * Group scheduling end to end (groupSize auto, the default): the word count
 * on a real cluster, where steady-state batches are started by the executors
 * from their group plan when the receiver announces each batch — the
 * scheduler sends no task launch for them (counted from its status:
 * TaskStream messages carrying tasks, and plans sent; only a speculative
 * copy of a slow task is launched) — and every acked record is counted
 * exactly once. The same job with groupSize 1 is the
 * contrast: a launch per batch.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Push `lines` numbered lines in slices every 50 ms; count what the job outputs for the ids; compare. */
async function countsExactly(client: RivuletClient, jobId: string, from: number, lines: number): Promise<void> {
  const seen = new Map<string, number>();
  const abort = new AbortController();
  const watching = (async () => {
    for await (const batch of client.watchOutput(jobId, 'counts', { signal: abort.signal })) {
      for (const [word, count] of batch.records as [string, number][]) if (word.startsWith('id')) seen.set(word, (seen.get(word) ?? 0) + count);
      if (seen.size >= lines) abort.abort();
    }
  })().catch(() => undefined);
  const pusher = client.pusher('lines');
  let acked = 0;
  for (let start = from; start < from + lines; start += 500) {
    acked += await pusher.push(Array.from({ length: 500 }, (_, k) => `id${start + k} word${k % 13}`));
    await sleep(50);
  }
  await pusher.close();
  expect(acked).toBe(lines);
  const deadline = setTimeout(() => abort.abort(), 30_000);
  await watching;
  clearTimeout(deadline);
  expect(seen.size).toBe(lines);
  expect([...seen.values()].every((c) => c === 1)).toBe(true);
}

describe('group scheduling (groupSize auto)', () => {
  let client: RivuletClient;
  useLocalCluster({ executors: 2, slots: 2, batchInterval: '200ms', blockInterval: '50ms', logLevel: 'warn' }, (started) => ({ client } = started));

  it('starts steady batches on the executors with no launch from the scheduler, and counts exactly once', async () => {
    const job = await client.submitJob(wordcount);
    // Planned batches: the executors started every task of a batch with input.
    await waitFor(
      async () => {
        const j = (await client.status({ recentBatches: 50 })).jobs.find((x) => x.jobId === job.jobId)!;
        return j.groupSize >= 2 && j.recentBatches.some((b) => b.state === 'COMPLETED' && b.tasks > 0 && b.plannedTasks === b.tasks);
      },
      'a batch run entirely from the group plan',
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    await countsExactly(client, job.jobId, 0, 5_000); // warm-up: the group size grows meanwhile

    const before = await client.status({ recentBatches: 1 });
    const firstBatch = Number(before.jobs[0]!.recentBatches.at(-1)!.batchTimeMs);
    await countsExactly(client, job.jobId, 5_000, 15_000);
    const after = await client.status({ recentBatches: 1000 });
    const j = after.jobs.find((x) => x.jobId === job.jobId)!;
    const steady = j.recentBatches.filter((b) => Number(b.batchTimeMs) > firstBatch && b.state === 'COMPLETED');
    expect(steady.length).toBeGreaterThanOrEqual(10);
    expect(steady.filter((b) => Number(b.inputRecords) > 0).length).toBeGreaterThan(5);
    // Every task a steady batch needs — a map task per block, a reduce task per partition (2 executors
    // × 2 slots × partitionsPerSlot 2) — was started by its executor from the plan…
    const reducePartitions = 8;
    for (const b of steady) {
      expect({ batch: b.batchTimeMs, planned: b.plannedTasks }).toEqual({ batch: b.batchTimeMs, planned: Number(b.inputBlocks) + reducePartitions });
    }
    // …so the scheduler launched only what no plan covers: speculative copies of a slow task (on a loaded
    // machine), each at most one message; most batches needed none at all.
    const unplanned = steady.reduce((n, b) => n + b.tasks - b.plannedTasks, 0);
    expect(Number(after.launchMessages) - Number(before.launchMessages)).toBeLessThanOrEqual(unplanned);
    expect(steady.filter((b) => b.tasks === b.plannedTasks).length).toBeGreaterThanOrEqual(Math.ceil(steady.length * 0.8));
    // And far fewer plans than batches × executors.
    const plans = Number(after.plansSent) - Number(before.plansSent);
    expect(plans).toBeLessThan(steady.length); // 2 executors: fewer than one plan per batch for the two together
    expect(j.groupSize).toBeGreaterThan(2);
  });
});

describe('group scheduling off (groupSize 1)', () => {
  let client: RivuletClient;
  useLocalCluster(
    { executors: 2, slots: 2, batchInterval: '200ms', blockInterval: '50ms', logLevel: 'warn', env: { scheduler: { RIVULET_GROUP_SIZE: '1' } } },
    (started) => ({ client } = started),
  );

  it('launches every batch from the scheduler', async () => {
    const job = await client.submitJob(wordcount);
    const before = await client.status();
    await countsExactly(client, job.jobId, 0, 5_000);
    const after = await client.status({ recentBatches: 1000 });
    const j = after.jobs.find((x) => x.jobId === job.jobId)!;
    expect(j.groupSize).toBe(0);
    expect(j.groupNote).toBe('groupSize is 1');
    const withInput = j.recentBatches.filter((b) => b.state === 'COMPLETED' && Number(b.inputRecords) > 0);
    expect(withInput.length).toBeGreaterThan(3);
    for (const b of withInput) expect(b.plannedTasks).toBe(0);
    // At least one launch message per stage per batch with input.
    expect(Number(after.launchMessages) - Number(before.launchMessages)).toBeGreaterThanOrEqual(withInput.length * 2);
    expect(Number(after.plansSent)).toBe(0);
  });
});
