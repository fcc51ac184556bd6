/**
 * Chaos test 3 of issue 15: two receivers with a producer on each (numbered
 * lines, the SDK given both addresses); kill -9 one mid-stream. Its producer's
 * pusher fails over to the other receiver with its idempotent retries: the
 * receiver it lands on first adopts the session's stored seqs from the dead
 * receiver's write-ahead log, so a message the dead one stored (its ack lost
 * with it) is acked `duplicate`, never stored twice. The batches the dead
 * receiver was cutting are completed by the scheduler from its share in the
 * log once it is judged gone (receiverTimeout). No push fails, every acked id
 * is counted exactly once, every batch is the exact word count of its lines,
 * and no batch fails. The killed receiver is then restarted and takes pushes
 * again. Kill moments come from a seeded PRNG (RIVULET_TEST_SEED replays).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { RecordPusher } from '../../client/push.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectExactWordCounts, expectJobHealthy, idLine, watchIdBatches } from '../helpers/id-lines.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

/** Producer k of 2 pushes ids k, k+2, k+4, … on one pusher, up to 4 pushes in flight, until stopped. Nothing is retried here: the SDK does it. */
function produce(pusher: RecordPusher, k: number, perPush = 200) {
  const acked = new Set<number>();
  const failed: string[] = [];
  let n = 0;
  let pushing = true;
  const loop = (async () => {
    const inFlight = new Set<Promise<void>>();
    while (pushing && failed.length === 0) {
      const ids = Array.from({ length: perPush }, () => 2 * n++ + k);
      const op: Promise<void> = pusher.push(ids.map(idLine)).then(
        () => ids.forEach((i) => acked.add(i)),
        (err: unknown) => void failed.push(err instanceof Error ? err.message : String(err)),
      );
      inFlight.add(op);
      void op.finally(() => inFlight.delete(op));
      if (inFlight.size >= 4) await Promise.race(inFlight);
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(inFlight);
  })();
  return {
    acked,
    failed,
    pushed: () => 2 * n + k,
    async stop(): Promise<void> {
      pushing = false;
      await loop;
      await pusher.close();
    },
  };
}

describe('chaos: one of two receivers killed with SIGKILL mid-stream', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    { executors: 2, slots: 2, receivers: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'info', logDir: process.env.RIVULET_TEST_LOG_DIR },
    (started) => ({ cluster, client } = started),
  );

  it('the SDK fails over: no acked loss, no duplicate, exact word counts per batch, no failed batch', async () => {
    const job = await client.submitJob(wordcount);
    const watch = watchIdBatches(client, job.jobId);
    // client.pusher spreads pushers over the addresses: the first on receiver, the second on receiver-2.
    const producers = [produce(client.pusher('lines'), 0), produce(client.pusher('lines'), 1)];
    const total = () => producers[0]!.acked.size + producers[1]!.acked.size;

    const rng = seededRandom('receiver-failover', 1);
    const more = Math.round(rng.between(2000, 5000));
    await waitFor(() => producers[1]!.acked.size >= more, `${more} records acked through receiver-2 before the kill (${rng.describe()})`, { timeoutMs: 30_000 });
    await cluster.receivers[1]!.kill();
    // The second producer goes on through the first receiver: well past what it had in flight at the kill.
    const afterKill = producers[1]!.acked.size;
    await waitFor(() => producers[1]!.acked.size >= afterKill + 3000, `the second producer's pushes acked after failing over (${rng.describe()})`, { timeoutMs: 60_000 });
    expect(producers[1]!.failed).toEqual([]);

    // The killed receiver comes back (same id, same port) and is used again.
    await cluster.restartReceiver(1);
    const afterRestart = total();
    await waitFor(() => total() >= afterRestart + 3000, 'pushes acked after the restart');
    await Promise.all(producers.map((p) => p.stop()));
    const context = `${rng.describe()}; killed after ${more} acked on receiver-2`;
    for (const p of producers) expect(p.failed, context).toEqual([]);

    const acked = new Set([...producers[0]!.acked, ...producers[1]!.acked]);
    await watch.until(acked, 60_000);
    // Every acked id exactly once with the word count of exactly its batch's lines; nothing never pushed.
    expectExactWordCounts(watch.batches, acked, Math.max(producers[0]!.pushed(), producers[1]!.pushed()), context);
    // Every pushed id was acked (no push failed), so every pushed id was counted.
    expect(acked.size, context).toBe(producers[0]!.pushed() / 2 + (producers[1]!.pushed() - 1) / 2);
    await expectJobHealthy(client, job.jobId);
  }, 180_000);
});
