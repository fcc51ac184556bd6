/**
 * Chaos: infrastructure faults on a real cluster (nats-server + the four
 * services as processes, 3 executors, word count on numbered lines):
 *   (a) nats-server kill -9, down for 5 s, restarted on the same port and store;
 *   (b) the scheduler frozen (SIGSTOP) for 2 s and for 10 s;
 *   (c) one executor frozen for 3 s;
 *   (d) two of the three frozen for 3 s at once: blocks whose both replicas
 *       were on them have no live replica until they rejoin and report them.
 * Every acked id must be counted exactly once and every batch must equal the
 * word count of its lines; (a) and (b) must declare no executor lost (same
 * epochs before and after) and (c) must declare the frozen one lost and see it
 * rejoin, capacity back to 3. Each case prints its figures. The executor to
 * freeze comes from a seeded PRNG (RIVULET_TEST_SEED replays it).
 *
 * (a) also prints after how many batches past the restart total delay is back
 * to normal (scenarios/nats-restart.ts says how it is counted). Issue 11 asks
 * for at most 3; that figure is held by bench/nats-restart.ts, which repeats
 * the fault and prints the machine. Here it is bounded loosely (see
 * BACK_TO_NORMAL_BOUND): a timed bound tight enough to be the requirement
 * would fail on a starved CI box for reasons that are not regressions.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import type { ClusterStatus__Output as ClusterStatus } from '../../lib/proto/gen/rivulet/v1/ClusterStatus.js';
import { ordinal, restartFigure } from '../../scenarios/nats-restart.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectExactWordCounts, pushIdsContinuously, watchIdBatches } from '../helpers/id-lines.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
/** The cluster's default liveness timeout: 4 missed heartbeats of 250 ms. */
const LIVENESS_TIMEOUT_MS = 1000;
const BATCH_INTERVAL_MS = 500;
/** Batches completed before a NATS fault, so that normal is measured on a warm cluster (JIT, connections). */
const WARM_BATCHES = 10;
/** Batches observed after the NATS restart to tell when total delay is back to normal. */
const OBSERVED_AFTER_RESTART = 10;
/**
 * (a)'s bound on the batches until total delay is back to normal. The
 * requirement is 3 and bench/nats-restart.ts holds it (1–2 in every run
 * measured); two more batches (1 s) leave room for a 2-core box shared with
 * other suites, where batches took over 1 s at p90 with no fault at all. What
 * this still catches: the batch path waiting out a JetStream or retry timeout
 * after the reconnect, or the backlog of the outage's batches running slowly.
 */
const BACK_TO_NORMAL_BOUND = 5;

const epochs = (st: ClusterStatus) => new Map(st.executors.map((e) => [e.executorId, `${e.state}@${e.epoch}`]));
const fresh = (st: ClusterStatus, ids: readonly string[]) =>
  ids.every((id) => st.executors.some((e) => e.executorId === id && e.state === 'ALIVE' && Number(e.lastHeartbeatAgeMs) < LIVENESS_TIMEOUT_MS));

/** Hold for a fault's duration: the fault is the point, not a race to paper over. */
const hold = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('chaos: NATS restarts and frozen processes', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    { executors: 3, slots: 2, batchInterval: `${BATCH_INTERVAL_MS}ms`, blockInterval: '100ms', logLevel: 'info', logDir: process.env.RIVULET_TEST_LOG_DIR },
    (started) => ({ cluster, client } = started),
  );
  const ids = () => cluster.executors.map((e) => e.name);

  /** Run a word-count job under continuous pushes around `fault`, then check every acked id. */
  async function underLoad(name: string, fault: (jobId: string) => Promise<string>): Promise<void> {
    const job = await client.submitJob(wordcount);
    const watch = watchIdBatches(client, job.jobId);
    const pushes = pushIdsContinuously(client, 'lines', 200, { pauseMs: 40 });
    try {
      await waitFor(() => pushes.acked.size >= 2000, `${name}: 2000 acked records before the fault`, { timeoutMs: 30_000 });
      const figures = await fault(job.jobId);
      const ackedAtEnd = pushes.acked.size;
      await waitFor(() => pushes.acked.size >= ackedAtEnd + 2000, `${name}: 2000 more acked records after the fault`, { timeoutMs: 30_000 });
      await pushes.stop();
      await watch.until(pushes.acked, 60_000);
      const seenIn = expectExactWordCounts(watch.batches, pushes.acked, pushes.pushed(), name);
      const st = await client.status({ recentBatches: 1000 });
      const j = st.jobs.find((x) => x.jobId === job.jobId)!;
      expect(j.state, `${name}: ${j.error}`).toBe('RUNNING');
      expect(j.recentBatches.filter((b) => b.state === 'FAILED')).toEqual([]);
      const lateTotal = j.recentBatches.slice(-6).map((b) => Math.round(b.totalDelayMs));
      console.log(
        `[${name}] ${figures}; pushed ${pushes.pushed()}, acked ${pushes.acked.size} (all counted once), refused ${pushes.refused.size} ` +
          `(${[...pushes.refused].filter((id) => seenIn.has(id)).length} of them stored before the refusal, counted once); ` +
          `batches ${watch.batches.length}; total delay of the last batches ${lateTotal.join(' ')} ms`,
      );
    } finally {
      await pushes.stop();
      await client.stopJob(job.jobId).catch(() => undefined);
    }
  }

  it('(a) nats-server kill -9 for 5 s, restarted on the same store: no acked loss, every executor fresh again within 2 s', async () => {
    await underLoad('nats kill -9 5s', async (jobId) => {
      const completed = async () =>
        ((await client.status({ recentBatches: 1000 })).jobs.find((x) => x.jobId === jobId)?.recentBatches ?? [])
          .filter((b) => b.state === 'COMPLETED')
          .map((b) => ({ batchTimeMs: Number(b.batchTimeMs), totalDelayMs: b.totalDelayMs }));
      await waitFor(async () => (await completed()).length >= WARM_BATCHES, `${WARM_BATCHES} batches completed before the fault`, { timeoutMs: 30_000 });
      const before = epochs(await client.status());
      // The first batches of a job run cold (JIT, connections): normal is measured after them.
      const normalBatches = (await completed()).sort((a, b) => a.batchTimeMs - b.batchTimeMs).slice(3);
      await cluster.killNats();
      const downAt = Date.now();
      await hold(5000);
      await cluster.restartNats();
      const upAt = Date.now();
      await waitFor(async () => fresh(await client.status(), ids()), 'every executor heartbeating to the scheduler again', { timeoutMs: 10_000, intervalMs: 50 });
      const backMs = Date.now() - upAt;
      const after = epochs(await client.status());
      expect(backMs, 'every executor alive again within 2 s of the restart').toBeLessThan(2000);
      // The guard suspended judgements while NATS was down: nobody was declared lost (same incarnations).
      expect(after).toEqual(before);
      await waitFor(
        async () => (await completed()).filter((b) => b.batchTimeMs > upAt).length >= OBSERVED_AFTER_RESTART,
        `${OBSERVED_AFTER_RESTART} batches completed after the restart`,
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const figure = restartFigure(normalBatches, await completed(), upAt, BATCH_INTERVAL_MS);
      const n = figure.batchesUntilNormal;
      const why = `total delay of the batches after the restart: ${figure.afterMs.join(' ')} ms`;
      expect(n, why).toBeDefined();
      expect(n!, why).toBeLessThanOrEqual(BACK_TO_NORMAL_BOUND);
      return (
        `NATS down ${upAt - downAt} ms; every executor heartbeating again ${backMs} ms after the restart; epochs unchanged; ` +
        `total delay back to normal (under one ${BATCH_INTERVAL_MS} ms interval, 3 batches in a row; before the fault p50 ${figure.normalP50Ms} / p90 ${figure.normalP90Ms} ms) ` +
        `from the ${ordinal(n!)} batch after the restart (batches after it: ${figure.afterMs.join(' ')} ms)`
      );
    });
  }, 150_000);

  it('(b) scheduler SIGSTOP for 2 s and for 10 s: no executor declared lost, no loss', async () => {
    await underLoad('scheduler SIGSTOP 2s+10s', async () => {
      const before = epochs(await client.status());
      const out: string[] = [];
      for (const ms of [2000, 10_000]) {
        const pausedAt = Date.now();
        cluster.scheduler.pause();
        try {
          await hold(ms);
        } finally {
          cluster.scheduler.resume();
        }
        // A full liveness window after the resume, then judge: nobody lost.
        await waitFor(async () => fresh(await client.status(), ids()), 'the scheduler answering with fresh heartbeats', { timeoutMs: 10_000 });
        await hold(2 * LIVENESS_TIMEOUT_MS);
        const now = epochs(await client.status());
        expect(now, `after a ${ms} ms freeze`).toEqual(before);
        out.push(`frozen ${ms} ms (a full liveness window judged ${Date.now() - pausedAt} ms after the freeze began): 0 executors lost`);
      }
      return out.join('; ');
    });
  }, 150_000);

  it('(c) executor SIGSTOP 3 s: declared lost, rejoins as a new incarnation, 3 executors alive again, no loss', async () => {
    const rng = seededRandom('infrastructure-faults', 11);
    await underLoad(`executor SIGSTOP 3s (${rng.describe()})`, async () => {
      const victim = rng.pick(cluster.executors);
      const before = (await client.status()).executors.find((e) => e.executorId === victim.name)!;
      victim.pause();
      const pausedAt = Date.now();
      let lostAfterMs: number;
      try {
        await waitFor(
          async () => (await client.status()).executors.find((e) => e.executorId === victim.name)?.state === 'LOST',
          `${victim.name} declared lost while frozen`,
          { timeoutMs: 8000, intervalMs: 50 }, // 3 s normally; longer only if the guard suspended judging on a loaded machine
        );
        lostAfterMs = Date.now() - pausedAt;
        await hold(Math.max(0, 3000 - (Date.now() - pausedAt)));
      } finally {
        victim.resume();
      }
      const resumedAt = Date.now();
      await waitFor(
        async () => {
          const st = await client.status();
          const e = st.executors.find((x) => x.executorId === victim.name);
          return !!e && e.state === 'ALIVE' && Number(e.epoch) > Number(before.epoch) && fresh(st, ids());
        },
        `${victim.name} rejoined with a new epoch and 3 executors alive`,
        { timeoutMs: 10_000, intervalMs: 50 },
      );
      const rejoinMs = Date.now() - resumedAt;
      const st = await client.status();
      expect(st.executors.filter((e) => e.state === 'ALIVE').map((e) => e.executorId).sort()).toEqual(ids().sort());
      const frozenMs = resumedAt - pausedAt;
      return `${victim.name} frozen ${frozenMs} ms: declared lost after ${lostAfterMs} ms, rejoined ${rejoinMs} ms after SIGCONT; 3 executors alive`;
    });
  }, 150_000);

  it('(d) two of three executors SIGSTOP 3 s at once: blocks with no live replica wait for them to rejoin and are re-adopted, no loss', async () => {
    const rng = seededRandom('infrastructure-faults-pair', 12);
    await underLoad(`2 executors SIGSTOP 3s (${rng.describe()})`, async () => {
      const spared = rng.pick(cluster.executors);
      const victims = cluster.executors.filter((e) => e !== spared);
      const before = new Map((await client.status()).executors.map((e) => [e.executorId, Number(e.epoch)]));
      for (const v of victims) v.pause();
      const pausedAt = Date.now();
      let lostAfterMs: number;
      try {
        await waitFor(
          async () => (await client.status()).executors.filter((e) => e.state === 'LOST').length === 2,
          `${victims.map((v) => v.name).join(' and ')} declared lost while frozen`,
          { timeoutMs: 8000, intervalMs: 50 }, // 3 s normally; longer only if the guard suspended judging on a loaded machine
        );
        lostAfterMs = Date.now() - pausedAt;
        await hold(Math.max(0, 3000 - (Date.now() - pausedAt)));
      } finally {
        for (const v of victims) v.resume();
      }
      const resumedAt = Date.now();
      await waitFor(
        async () => {
          const st = await client.status();
          return victims.every((v) => st.executors.some((e) => e.executorId === v.name && e.state === 'ALIVE' && Number(e.epoch) > before.get(v.name)!)) && fresh(st, ids());
        },
        'both rejoined with new epochs and 3 executors alive',
        { timeoutMs: 10_000, intervalMs: 50 },
      );
      return `${victims.map((v) => v.name).join('+')} frozen ${resumedAt - pausedAt} ms: both declared lost after ${lostAfterMs} ms, rejoined ${Date.now() - resumedAt} ms after SIGCONT`;
    });
  }, 150_000);
});
