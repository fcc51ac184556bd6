/**
 * Chaos: kill -9 the receiver mid-stream (records acked, their batch perhaps
 * not yet announced) and restart it on the same port. Its write-ahead log of
 * block allocations (services/receiver/allocation-log.ts) must bring back
 * every acked record: each acked id is counted exactly once, no batch fails,
 * the job keeps running. Pushes cut off by the crash were not acked; they are
 * not retried here (a retry could legitimately count them twice). Kill
 * moments and downtimes come from a seeded PRNG: the seed is printed, and
 * RIVULET_TEST_SEED=<seed> replays the same choices.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectExactWordCounts, expectJobHealthy, pushIdsContinuously, watchIdBatches } from '../helpers/id-lines.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

describe('chaos: receiver killed with SIGKILL mid-stream and restarted', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    { executors: 2, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'info', logDir: process.env.RIVULET_TEST_LOG_DIR },
    (started) => ({ cluster, client } = started),
  );

  it('3 kills: every acked record counted exactly once, no batch failed', async () => {
    const job = await client.submitJob(wordcount);
    const watch = watchIdBatches(client, job.jobId);

    // Push continuously; a failed pusher (the receiver died) is replaced by a new one.
    const pushes = pushIdsContinuously(client, 'lines', 200);
    const acked = pushes.acked;

    const rng = seededRandom('receiver-restart', 1);
    const downtimes: number[] = [];
    for (let k = 0; k < 3; k++) {
      // A moment in the stream (a number of newly acked records, so the kill lands at different
      // points of a batch: acked but not announced, announcing, …), then a downtime.
      const ackedBefore = acked.size;
      const more = Math.round(rng.between(1000, 3000));
      await waitFor(() => acked.size >= ackedBefore + more, `${more} more acked records before kill ${k + 1} (${rng.describe()})`, { timeoutMs: 30_000 });
      await cluster.receiver.kill();
      // The downtime is the experiment's parameter, not a wait for something.
      const downMs = Math.round(rng.between(0, 700));
      downtimes.push(downMs);
      await new Promise((r) => setTimeout(r, downMs));
      await cluster.restartReceiver();
    }
    // Pushing goes on until the restarted receiver has acked a good number of new records.
    const ackedAfterRestart = acked.size;
    await waitFor(() => acked.size >= ackedAfterRestart + 1000, `the restarted receiver acks new pushes (${rng.describe()})`);
    await pushes.stop();
    const context = `${rng.describe()}; downtimes ${downtimes.join(',')} ms; ${pushes.refused.size} ids refused`;
    expect(acked.size, context).toBeGreaterThan(3000);

    await watch.until(acked);

    // Against the input: every acked id in exactly one batch with count 1, and every batch the
    // word count (computed here) of the lines it holds. A refused id may appear (stored and
    // logged, but the crash came before its ack) — at most once, like any id, and with its words.
    expectExactWordCounts(watch.batches, acked, pushes.pushed(), context);
    await expectJobHealthy(client, job.jobId);
  }, 180_000);
});
