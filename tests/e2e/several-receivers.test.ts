/**
 * Several receivers end to end (README "Several receivers"): two receivers
 * behind the SDK's address list, a producer on each (RivuletClient.pusher
 * spreads pushers over the addresses), group scheduling on (auto, the
 * default). Each batch's input is every receiver's share merged by the
 * scheduler (services/scheduler/receiver-tracker.ts) and published on NATS
 * batch.inputs, which the executors start planned batches from: asserted by
 * the merged block list of batches holding blocks of both receivers, by
 * steady batches whose every task was started from a plan, and by exact word
 * counts — every acked id counted once, each batch the word count of its lines.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { dial, unary } from '../../lib/grpc/client.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectExactWordCounts, expectJobHealthy, idLine, watchIdBatches } from '../helpers/id-lines.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('two receivers, group scheduling on', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    { executors: 2, slots: 2, receivers: 2, batchInterval: '200ms', blockInterval: '50ms', logLevel: 'warn', logDir: process.env.RIVULET_TEST_LOG_DIR },
    (started) => ({ cluster, client } = started),
  );

  it('merges both receivers\' blocks per batch, starts planned batches from the merged list, and counts exactly once', async () => {
    expect(cluster.addresses().receiver.split(',')).toHaveLength(2);
    const job = await client.submitJob(wordcount);
    const watch = watchIdBatches(client, job.jobId);
    // Two producers, one per receiver (pushers start on successive addresses); ids interleaved.
    const pushers = [client.pusher('lines'), client.pusher('lines')];
    const perProducer = 10_000;
    const acked = new Set<number>();
    await Promise.all(
      pushers.map(async (p, k) => {
        for (let start = 0; start < perProducer; start += 250) {
          const ids = Array.from({ length: 250 }, (_, i) => 2 * (start + i) + k);
          expect(await p.push(ids.map(idLine))).toBe(ids.length);
          ids.forEach((id) => acked.add(id));
          await sleep(20);
        }
      }),
    );
    for (const p of pushers) expect(p.retries).toBe(0);
    await Promise.all(pushers.map((p) => p.close()));
    await watch.until(acked, 60_000);
    const seenIn = expectExactWordCounts(watch.batches, acked, 2 * perProducer);

    // The merged list the scheduler decided (kept by every receiver for GetBatchBlocks merged): batches with
    // blocks of both receivers, receiver order first (block ids name their receiver).
    // As an executor would ask (GetBatchBlocks is for services only).
    const raw = dial.receiver(cluster.receivers[0]!.address, { security: cluster.security!.as('executor') });
    try {
      const times = [...new Set(seenIn.values())].sort((a, b) => a - b);
      let both = 0;
      for (const t of times) {
        const res = await unary(raw, raw.getBatchBlocks, { stream: 'lines', batchTimeMs: t, merged: true }, { timeoutMs: 2000 });
        expect(res.complete, `batch ${t} merged list known to the receiver`).toBe(true);
        const owners = res.blocks.map((b) => (b.blockId.startsWith('input.receiver-2.') ? 2 : b.blockId.startsWith('input.receiver.') ? 1 : 0));
        expect(owners.includes(0), `block ids name their receiver: ${res.blocks.map((b) => b.blockId).join(' ')}`).toBe(false);
        expect(owners, `batch ${t}: receiver order`).toEqual([...owners].sort());
        if (owners.includes(1) && owners.includes(2)) both++;
      }
      expect(both, `batches holding blocks of both receivers, of ${times.length}`).toBeGreaterThan(times.length / 2);
    } finally {
      raw.close();
    }

    // Planned batches: executors started every task of steady batches from the plan and the merged list.
    await waitFor(
      async () => {
        const j = (await client.status({ recentBatches: 1000 })).jobs.find((x) => x.jobId === job.jobId)!;
        return j.recentBatches.filter((b) => b.state === 'COMPLETED' && Number(b.inputRecords) > 0 && b.plannedTasks === b.tasks).length >= 5;
      },
      'batches with input run entirely from group plans',
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    await expectJobHealthy(client, job.jobId);
  });
});
