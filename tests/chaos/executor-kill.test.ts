/**
 * Chaos: kill -9 one of 3 executors mid-stream, 10 times at random moments,
 * replacing each with a fresh one. Every acked record must be counted exactly
 * once, and every batch's output must equal what a failure-free run computes
 * for the records of that batch. Kill moments (after a number of acked
 * records) and victims come from a seeded PRNG: the seed is printed, and
 * RIVULET_TEST_SEED=<seed> replays the same choices.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { expectExactWordCounts, expectJobHealthy, pushIdsContinuously, watchIdBatches } from '../helpers/id-lines.js';
import { seededRandom } from '../helpers/seeded-random.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

describe('chaos: executors killed with SIGKILL mid-stream', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    { executors: 3, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'info', logDir: process.env.RIVULET_TEST_LOG_DIR },
    (started) => ({ cluster, client } = started),
  );

  it('10 random kills: every acked record counted exactly once, every batch correct', async () => {
    const job = await client.submitJob(wordcount);
    const watch = watchIdBatches(client, job.jobId);
    const batches = watch.batches;

    // Push continuously; remember which lines were acked and which refused.
    const pushes = pushIdsContinuously(client, 'lines', 400, { pauseMs: 40 });
    const { acked, refused } = pushes;
    // Kill moments and victims are replayable: RIVULET_TEST_SEED=<seed printed here>.
    const rng = seededRandom('executor-kill', 1);

    const kills: string[] = [];
    for (let k = 0; k < 10; k++) {
      // A moment in the stream: wait until this many more records were acked (the load on this
      // machine decides how long that takes), so each kill strikes a running stream.
      const ackedBefore = acked.size;
      const more = Math.round(rng.between(800, 2000));
      await waitFor(() => acked.size >= ackedBefore + more, `${more} more acked records before kill ${k + 1} (${rng.describe()})`, { timeoutMs: 30_000 });
      const victim = rng.pick(cluster.executors);
      kills.push(victim.name);
      await victim.kill();
      cluster.executors.splice(cluster.executors.indexOf(victim), 1);
      // The guarantee covers one failure at a time: wait until the scheduler
      // has declared the loss and copied the victim's blocks back to two
      // replicas before the next kill can strike their other replica.
      await waitFor(async () => {
        const st = await client.status({ recentBatches: 0 });
        const lost = st.executors.find((e) => e.executorId === victim.name)?.state === 'LOST';
        return lost && st.underReplicatedBlocks === 0;
      }, `${victim.name} is declared lost and its blocks are back to 2 replicas (${rng.describe()})`, { timeoutMs: 20_000, intervalMs: 50 });
      await cluster.addExecutor();
    }
    await pushes.stop();
    const context = `${rng.describe()}; kills ${kills.join(',')}`;
    expect(kills).toHaveLength(10);
    expect(acked.size, context).toBeGreaterThan(5000);

    await watch.until(acked, 120_000);

    // Against the input: every acked id in exactly one batch with count 1, nothing never pushed,
    // and every batch equal to the failure-free word count (computed here) of the lines it holds.
    let seenIn: Map<number, number>;
    try {
      seenIn = expectExactWordCounts(batches, acked, pushes.pushed(), context);
    } catch (err) {
      // Say whether records were lost or the job stalled: the batches still queued.
      const st = await client.status({ recentBatches: 1000 });
      const j = st.jobs.find((x) => x.jobId === job.jobId)!;
      const notDone = j.recentBatches.filter((b) => b.state !== 'COMPLETED').map((b) => `${b.batchTimeMs}:${b.state}`);
      throw new Error(`${(err as Error).message}\nnot completed: ${notDone.join(' ')}`, { cause: err });
    }
    // The receiver refused these pushes while an executor died: they must not be counted.
    expect([...refused].filter((id) => seenIn.has(id)), `refused ids counted; ${context}`).toEqual([]);
    await expectJobHealthy(client, job.jobId);
  }, 180_000);
});
