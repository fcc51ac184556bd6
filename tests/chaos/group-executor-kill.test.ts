/**
 * Chaos: kill -9 of one of 2 executors while group scheduling (groupSize
 * auto, the default) runs the word count at 100 ms batches — the case where
 * the survivor's planned reducers of every announced batch wait for the dead
 * executor's share. What must hold:
 * - the loss is declared from the broken task stream and a refused probe,
 *   not from missed heartbeats: the scheduler here waits 20 heartbeats (5 s)
 *   for those, and the loss must be seen in under half that;
 * - the batches due in the 2 s after the kill (20 of them) all complete,
 *   none later than the pre-kill median + 5 batch intervals (before the
 *   probe fix, ~6 of them took 500-760 ms: a loss declared ~0.5 s late, while
 *   the survivor waited on a dead executor's share);
 * - every acked record is counted exactly once, every batch's word count exact.
 * The bound is within the one run (its own pre-kill median), with a margin of
 * 5 intervals for a loaded machine (at load 12-15 the loss took 289 ms and the
 * first batch after it 280 ms); the late loss this guards against kept 6-10
 * batches at 500-760 ms.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { recoveryFigure, type ObservedBatch } from '../../scenarios/recovery.js';
import { percentile } from '../../scenarios/steady-wordcount.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectExactWordCounts, expectJobHealthy, pushIdsContinuously, watchIdBatches } from '../helpers/id-lines.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const INTERVAL = 100;
const HEARTBEAT_TIMEOUT_MS = 20 * 250;
const OBSERVE_MS = 2000;

describe('chaos: an executor killed while group scheduling runs 100 ms batches', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    {
      executors: 2,
      slots: 2,
      batchInterval: `${INTERVAL}ms`,
      blockInterval: '50ms',
      logLevel: 'info',
      logDir: process.env.RIVULET_TEST_LOG_DIR,
      // Missed heartbeats alone would take 5 s: only the broken stream's probe can declare the loss sooner.
      env: { scheduler: { RIVULET_MAX_MISSED_HEARTBEATS: '20' } },
    },
    (started) => ({ cluster, client } = started),
  );

  it('declares the loss at once, keeps every batch after it within 5 intervals of normal, counts exactly once', async () => {
    const job = await client.submitJob(wordcount);
    const watch = watchIdBatches(client, job.jobId);
    // Every batch the scheduler reports, merged by batch time (status keeps the last 100: 10 s here).
    const seen = new Map<number, ObservedBatch>();
    let planned = false;
    const poll = async () => {
      const j = (await client.status({ recentBatches: 1000 })).jobs.find((x) => x.jobId === job.jobId);
      for (const b of j?.recentBatches ?? []) {
        seen.set(Number(b.batchTimeMs), { batchTimeMs: Number(b.batchTimeMs), state: b.state, totalDelayMs: b.totalDelayMs });
        if (b.state === 'COMPLETED' && b.tasks > 0 && b.plannedTasks === b.tasks) planned = true;
      }
    };
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await poll().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const pushes = pushIdsContinuously(client, 'lines', 50, { pauseMs: 20 });
    try {
      // Group-scheduled (batches run entirely from the plan) and steady: the last 30 batches' p90 under one
      // interval, so no backlog from the start is taken for the kill's.
      await waitFor(() => planned, 'a batch run entirely from its group plan', { timeoutMs: 30_000, intervalMs: 100 });
      const steadyFrom = pushes.acked.size;
      await waitFor(() => pushes.acked.size >= steadyFrom + 5_000, '5,000 more acked lines before the kill', { timeoutMs: 30_000, intervalMs: 50 });
      const lastCompleted = () => [...seen.values()].filter((b) => b.state === 'COMPLETED').sort((a, b) => a.batchTimeMs - b.batchTimeMs).slice(-30);
      await waitFor(
        async () => {
          await poll();
          const last = lastCompleted();
          return last.length === 30 && percentile(last.map((b) => b.totalDelayMs), 90) < INTERVAL;
        },
        `steady batches before the kill (p90 total delay of the last 30 under ${INTERVAL} ms)`,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const before = lastCompleted();

      const victim = cluster.executors[0]!;
      const killedAtMs = Date.now();
      await victim.kill();
      await waitFor(
        async () => (await client.status({ recentBatches: 0 })).executors.find((e) => e.executorId === victim.name)?.state === 'LOST',
        `${victim.name} declared lost`,
        { timeoutMs: HEARTBEAT_TIMEOUT_MS * 2, intervalMs: 20 },
      );
      const lostAfterMs = Date.now() - killedAtMs;
      expect(lostAfterMs, 'the loss comes from the broken task stream and a probe, not from missed heartbeats').toBeLessThan(HEARTBEAT_TIMEOUT_MS / 2);

      // Every batch due in the observation has ended (or the figure counts it over).
      await waitFor(
        async () => {
          await poll();
          const due = [...seen.values()].filter((b) => b.batchTimeMs <= killedAtMs + OBSERVE_MS);
          return Date.now() > killedAtMs + OBSERVE_MS && due.every((b) => b.state === 'COMPLETED' || b.state === 'FAILED');
        },
        'the batches due in the 2 s after the kill ended',
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const figure = recoveryFigure({
        before,
        all: [...seen.values()],
        killedAtMs,
        observeMs: OBSERVE_MS,
        endedAtMs: Date.now(),
        batchIntervalMs: INTERVAL,
        tolerance: 0,
        floorMs: 5 * INTERVAL,
      });
      const context = `lost after ${lostAfterMs} ms; normal ${figure.normalTotalDelayMs} ms; after the kill: ${figure.afterMs.join(' ')}`;
      console.log(`group-scheduled kill at ${INTERVAL} ms batches: ${context}`);
      expect(figure.judged, context).toBeGreaterThanOrEqual(OBSERVE_MS / INTERVAL);
      expect(figure.over, `batches after the kill over normal + 5 intervals (${figure.boundMs} ms), failed or missing; ${context}`).toBe(0);
    } finally {
      polling = false;
      await poller;
      await pushes.stop();
    }
    await watch.until(pushes.acked, 60_000);
    const seenIn = expectExactWordCounts(watch.batches, pushes.acked, pushes.pushed());
    expect([...pushes.refused].filter((id) => seenIn.has(id)), 'refused ids counted').toEqual([]);
    await expectJobHealthy(client, job.jobId);
  }, 120_000);
});
