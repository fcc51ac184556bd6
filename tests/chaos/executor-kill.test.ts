/**
 * Chaos: kill -9 one of 3 executors mid-stream, 10 times at random moments,
 * replacing each with a fresh one. Every acked record must be counted exactly
 * once, and every batch's output must equal what a failure-free run computes
 * for the records of that batch.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { countWords, expectIdsAtMostOnce, expectJobHealthy, idLine as line, watchIdBatches } from '../helpers/id-lines.js';

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
    const pusher = client.pusher('lines');
    const acked = new Set<number>();
    const refused = new Set<number>();
    let next = 0;
    let pushing = true;
    const pushLoop = (async () => {
      const inFlight = new Set<Promise<void>>();
      while (pushing) {
        const ids = Array.from({ length: 400 }, () => next++);
        const op: Promise<void> = pusher.push(ids.map(line)).then(
          () => ids.forEach((i) => acked.add(i)),
          () => ids.forEach((i) => refused.add(i)),
        );
        inFlight.add(op);
        op.finally(() => inFlight.delete(op));
        if (inFlight.size >= 4) await Promise.race(inFlight);
        await new Promise((r) => setTimeout(r, 40));
      }
      await Promise.all(inFlight);
    })();

    const kills: string[] = [];
    for (let k = 0; k < 10; k++) {
      await new Promise((r) => setTimeout(r, 800 + Math.random() * 1200));
      const victim = cluster.executors[Math.floor(Math.random() * cluster.executors.length)]!;
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
      }, `${victim.name} is declared lost and its blocks are back to 2 replicas`, { timeoutMs: 20_000, intervalMs: 50 });
      await cluster.addExecutor();
    }
    pushing = false;
    await pushLoop;
    await pusher.close();
    expect(kills).toHaveLength(10);
    expect(acked.size).toBeGreaterThan(5000);

    await watch.until(acked.size, 120_000);

    // Exactly once: every acked id in exactly one batch, with count 1; no refused id anywhere.
    const seenIn = expectIdsAtMostOnce(batches);
    const missing = [...acked].filter((id) => !seenIn.has(id));
    if (missing.length > 0) {
      // Say whether records were lost or the job stalled: the batches still queued and the last one committed.
      const st = await client.status({ recentBatches: 1000 });
      const j = st.jobs.find((x) => x.jobId === job.jobId)!;
      const notDone = j.recentBatches.filter((b) => b.state !== 'COMPLETED').map((b) => `${b.batchTimeMs}:${b.state}`);
      expect(missing, `acked ids never counted: ${missing.length} of ${acked.size} (ids ${missing[0]}..${missing.at(-1)}); ` +
        `last committed batch ${batches.at(-1)?.t}; not completed: ${notDone.join(' ')}; kills ${kills.join(',')}`).toEqual([]);
    }
    for (const id of refused) expect(seenIn.has(id)).toBe(false);
    // Every batch equals the failure-free word count of the lines it holds.
    for (const b of batches) {
      const lines = [...b.counts.keys()].filter((w) => w.startsWith('id')).map((w) => line(Number(w.slice(2))));
      expect(b.counts).toEqual(countWords(lines));
    }
    await expectJobHealthy(client, job.jobId);
  }, 180_000);
});
