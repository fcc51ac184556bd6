/**
 * Chaos: the control plane's JetStream state on a real 3-node NATS cluster
 * (three nats-server processes routed over mutual TLS, started by the test)
 * with natsReplicas 3, under a word count on numbered lines pushed steadily:
 *   1. kill -9 the NATS server the scheduler is connected to, mid-stream:
 *      its clients (the scheduler's, and whichever other service's the client
 *      placed there) must fail over to another server — `rivulet status`
 *      names the new one — and the streams it led must elect new leaders;
 *      batches must then be back to normal within a few batches;
 *   2. restart it on the same store and wait until every stream's replica on
 *      it is current again (otherwise the next kill could cost a quorum);
 *   3. kill -9 another server, the one leading the most of Rivulet's
 *      streams, and again.
 * Every acked id must be counted exactly once, every batch must equal the word
 * count of exactly its own lines (the fault-free reference: the output is a
 * function of the lines a batch holds), no batch may fail and the job stays
 * RUNNING. The services' NATS clients must fail over to a surviving server
 * (every URL is given) and their in-flight JetStream writes must be sent again
 * there (lib/nats/reconnect.ts).
 *
 * Counting "back to normal" is scenarios/nats-restart.ts's (total delay under
 * one batch interval for 3 batches in a row), over the batches whose time is
 * after JetStream had leaders for every stream again. The election itself is
 * nats-server's: a stream whose leader died is leaderless until its Raft
 * election timeout (2.9: several seconds) — the test prints it, it is not
 * Rivulet's to shorten. The requirement is 3 batches; the bound here is 5 for
 * the same reason as tests/chaos/infrastructure-faults.test.ts (a 2-core box
 * shared with other suites); bench/nats-cluster.ts repeats the faults and
 * prints the figures with the machine.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { ordinal, restartFigure, type BatchDelay } from '../../scenarios/nats-restart.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectExactWordCounts, pushIdsContinuously, watchIdBatches } from '../helpers/id-lines.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const BATCH_INTERVAL_MS = 500;
/** Batches completed before the first fault (the first 3 of a job run cold and are not part of normal). */
const WARM_BATCHES = 8;
/** Batches observed after JetStream is led again, to tell when total delay is back to normal. */
const OBSERVED = 6;
/** See the module comment: the requirement is 3. */
const BACK_TO_NORMAL_BOUND = 5;

describe('chaos: a 3-node NATS cluster with natsReplicas 3', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    { natsServers: 3, executors: 2, slots: 2, batchInterval: `${BATCH_INTERVAL_MS}ms`, blockInterval: '100ms', logLevel: 'info', logDir: process.env.RIVULET_TEST_LOG_DIR },
    (started) => ({ cluster, client } = started),
  );

  it('kill -9 of a NATS server, its restart, then kill -9 of another: no acked loss, each acked id counted once, no failed batch, back to normal', async () => {
    const nats = cluster.natsCluster!;
    // Every stream and bucket the services made at start is R3 (checkpoints are made by jobs with state only).
    const streams = await nats.streams();
    expect([...streams.keys()].sort()).toEqual(
      ['KV_rivulet-lineage', 'KV_rivulet-receiver', 'KV_rivulet-scheduler', 'KV_rivulet_tokens', 'OBJ_rivulet-scheduler-bundles', 'rivulet-outputs'].sort(),
    );
    for (const [name, s] of streams) expect(s.replicas, name).toBe(3);

    const job = await client.submitJob(wordcount);
    const watch = watchIdBatches(client, job.jobId);
    const pushes = pushIdsContinuously(client, 'lines', 200, { pauseMs: 40 });
    const completed = async (): Promise<BatchDelay[]> =>
      ((await client.status({ recentBatches: 1000 })).jobs.find((x) => x.jobId === job.jobId)?.recentBatches ?? [])
        .filter((b) => b.state === 'COMPLETED')
        .map((b) => ({ batchTimeMs: Number(b.batchTimeMs), totalDelayMs: b.totalDelayMs }))
        .sort((a, b) => a.batchTimeMs - b.batchTimeMs);
    /** Server `i` with what it carries now: the streams it leads and its client connections (its /connz). */
    const describe = async (i: number) => {
      const s = nats.servers[i]!;
      const leads = [...(await nats.streams()).values()].filter((x) => x.leader === s.name).length;
      const clients = ((await (await fetch(`${s.monitorUrl}/connz`)).json()) as { num_connections: number }).num_connections;
      return { i, name: s.name, leads, clients };
    };
    /** The running server leading the most streams (ties: the lowest index), not `except`. */
    const busiestLeader = async (except: number) => {
      const candidates = await Promise.all(nats.servers.map((_, i) => i).filter((i) => i !== except && nats.servers[i]!.running).map(describe));
      candidates.sort((a, b) => b.leads - a.leads || a.i - b.i);
      return candidates[0]!;
    };
    const schedulerNats = async () => (await client.status({ recentBatches: 0 })).nats;
    const settled = (what: string, timeoutMs: number) =>
      waitFor(async () => (await nats.streamsSettled()).settled, what, { timeoutMs, intervalMs: 50 }).catch(async (e: unknown) => {
        throw new Error(`${(e as Error).message}: ${(await nats.streamsSettled()).detail}`, { cause: e });
      });
    const figures: string[] = [];
    /** kill -9 server `victim`, wait until every stream is led again, then measure the batches after that. */
    const killAndMeasure = async (victim: { i: number; name: string; leads: number; clients: number }, normal: BatchDelay[]) => {
      const killedAt = Date.now();
      await nats.kill(victim.i);
      await settled(`every stream led again after ${victim.name} was killed`, 30_000);
      const ledAt = Date.now();
      await waitFor(async () => (await completed()).filter((b) => b.batchTimeMs > ledAt).length >= OBSERVED, `${OBSERVED} batches completed after the new leaders`, {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      const figure = restartFigure(normal, await completed(), ledAt, BATCH_INTERVAL_MS);
      const n = figure.batchesUntilNormal;
      figures.push(
        `kill -9 ${victim.name} (leading ${victim.leads} streams, ${victim.clients} clients): every stream led again ${ledAt - killedAt} ms later; total delay back under one ` +
          `${BATCH_INTERVAL_MS} ms interval (3 in a row; before: p50 ${figure.normalP50Ms} / p90 ${figure.normalP90Ms} ms) from the ` +
          `${n === undefined ? '(never)' : ordinal(n)} batch after that (batches after: ${figure.afterMs.join(' ')} ms)`,
      );
      const why = `total delay of the batches after the new leaders: ${figure.afterMs.join(' ')} ms`;
      expect(n, why).toBeDefined();
      expect(n!, why).toBeLessThanOrEqual(BACK_TO_NORMAL_BOUND);
      return ledAt;
    };
    try {
      await waitFor(async () => (await completed()).length >= WARM_BATCHES && pushes.acked.size >= 2000, `${WARM_BATCHES} batches and 2000 acked lines before the faults`, {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      const normal = (await completed()).slice(3);

      // The scheduler's connection: failing over is part of what is tested.
      const before = await schedulerNats();
      expect(before).toMatchObject({ connected: true, cluster: 'rivulet', clusterSize: 3, replicas: 3 });
      const first = await describe(nats.servers.findIndex((s) => s.name === before!.serverName));
      const ledAgain = await killAndMeasure(first, normal);
      const after = await schedulerNats();
      expect(after?.connected).toBe(true);
      expect(after?.serverName, 'the scheduler failed over to another NATS server').not.toBe(first.name);
      figures.push(`the scheduler moved from ${first.name} to ${after?.serverName}`);

      const restartedAt = Date.now();
      await nats.restart(first.i);
      await settled(`${first.name}'s replicas current again after its restart`, 30_000);
      figures.push(`${first.name} restarted on its store: routed and every replica current ${Date.now() - restartedAt} ms later`);

      const normalAgain = (await completed()).filter((b) => b.batchTimeMs > ledAgain).slice(3);
      const second = await busiestLeader(first.i);
      await killAndMeasure(second, normalAgain);

      const ackedAtEnd = pushes.acked.size;
      await waitFor(() => pushes.acked.size >= ackedAtEnd + 1000, '1000 more acked records after the second fault', { timeoutMs: 30_000 });
      await pushes.stop();
      await watch.until(pushes.acked, 60_000);
      const seenIn = expectExactWordCounts(watch.batches, pushes.acked, pushes.pushed(), figures.join('; '));
      const st = await client.status({ recentBatches: 1000 });
      const j = st.jobs.find((x) => x.jobId === job.jobId)!;
      expect(j.state, j.error).toBe('RUNNING');
      expect(j.recentBatches.filter((b) => b.state === 'FAILED')).toEqual([]);
      console.log(
        `[nats cluster] ${figures.join('; ')}; pushed ${pushes.pushed()}, acked ${pushes.acked.size} (all counted once), refused ${pushes.refused.size} ` +
          `(${[...pushes.refused].filter((id) => seenIn.has(id)).length} of them stored before the refusal, counted once); batches ${watch.batches.length}`,
      );
    } finally {
      await pushes.stop();
      await client.stopJob(job.jobId).catch(() => undefined);
    }
  }, 150_000);
});
