/**
 * Chaos: kill -9 a control-plane process mid-stream and restart it on its port.
 *  - The scheduler: its job journal (services/scheduler/job-journal.ts) brings
 *    the job back with the same id; it catches up on the batches it missed
 *    (their blocks come from the receiver) and its state and window partitions
 *    come back from lineage. A batch that was running at the crash may be
 *    committed twice — identically, so a consumer that deduplicates by batch
 *    time sees it once.
 *  - Lineage: it reloads its KV state; meanwhile the scheduler's
 *    registrations wait and retry, and batches resume when it is back.
 * Either way every acked record is counted exactly once, there is no gap in
 * batch times, every batch's counts equal the word count of the lines it
 * holds, and the running totals and the window carry on from before the crash
 * instead of restarting from zero: all judged against references computed
 * here from the lines pushed, never from the job's own outputs. The kill
 * moment and downtime come from a seeded PRNG (seed printed;
 * RIVULET_TEST_SEED=<seed> replays them).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isConnectionFailure } from '../../client/connection.js';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { countWords, expectExactWordCounts, expectJobHealthy, idLine, pushIdsContinuously } from '../helpers/id-lines.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { waitFor } from '../helpers/wait.js';

const job = fileURLToPath(new URL('./jobs/stateful-wordcount.ts', import.meta.url));

interface Committed {
  t: number;
  records: Array<[string, number]>;
}

/**
 * Every batch of one output committed by the scheduler serving now, until
 * aborted or the stream breaks. A broken connection (the scheduler that served
 * it was killed) is pushed to `broken`; any other error rejects.
 */
function collect(client: RivuletClient, jobId: string, output: string, into: Committed[], abort: AbortSignal, broken: string[]): Promise<void> {
  return (async () => {
    for await (const b of client.watchOutput(jobId, output, { fromBeginning: true, signal: abort })) {
      into.push({ t: b.batchTimeMs, records: b.records as Array<[string, number]> });
    }
  })().catch((err: unknown) => {
    if (!isConnectionFailure(err)) throw err;
    broken.push(`${output}: ${(err as Error).message}`);
  });
}

describe('chaos: a control-plane process killed with SIGKILL mid-stream and restarted', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    { executors: 2, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'info', logDir: process.env.RIVULET_TEST_LOG_DIR },
    (started) => ({ cluster, client } = started),
  );

  it('the scheduler: the job resumes, every acked record counted exactly once, state and window continue', () => restartMidStream('scheduler'), 180_000);
  it('lineage: batches wait for it and resume, every acked record counted exactly once, state and window continue', () => restartMidStream('lineage'), 180_000);

  async function restartMidStream(component: 'scheduler' | 'lineage'): Promise<void> {
    const submitted = await client.submitJob(job);
    const counts: Committed[] = [];
    const totals: Committed[] = [];
    const windows: Committed[] = [];
    // A client that rides out the restart (what `rivulet tail` does): every batch once, in order.
    const resumed: Committed[] = [];
    const resuming = new AbortController();
    const watchingAcross = (async () => {
      for await (const b of client.watchOutput(submitted.jobId, 'counts', { fromBeginning: true, signal: resuming.signal, reconnect: true })) {
        resumed.push({ t: b.batchTimeMs, records: b.records as Array<[string, number]> });
      }
    })();
    const before = new AbortController();
    const broken: string[] = [];
    const watchingBefore = Promise.all([
      collect(client, submitted.jobId, 'counts', counts, before.signal, broken),
      collect(client, submitted.jobId, 'totals', totals, before.signal, broken),
      collect(client, submitted.jobId, 'window', windows, before.signal, broken),
    ]);

    const pushes = pushIdsContinuously(client, 'lines', 100);
    const acked = pushes.acked;

    // Let some batches complete (state built up), then kill the process at a seeded moment
    // within a batch interval, and keep it down for a seeded time (the experiment's parameters).
    const rng = seededRandom(`control-plane-restart/${component}`, component === 'scheduler' ? 1 : 2);
    const killDelayMs = Math.round(rng.between(0, 500));
    const plannedDownMs = Math.round(rng.between(700, 1500));
    await waitFor(() => totals.length >= 3, `three batches committed before the crash (${rng.describe()})`, { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, killDelayMs));
    await (component === 'scheduler' ? cluster.scheduler : cluster.lineage).kill();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, plannedDownMs));
    await (component === 'scheduler' ? cluster.restartScheduler() : cluster.restartLineage());
    const downMs = Date.now() - downAt;
    const context = `${rng.describe()}; killed ${killDelayMs} ms after the third batch, down ${downMs} ms`;

    const after = new AbortController();
    let watchingAfter: Promise<unknown> = Promise.resolve();
    if (component === 'scheduler') {
      await watchingBefore; // their streams broke with the old scheduler
      // A watch is sent once (no reconnect here): start them when this client's channel, which
      // may still be waiting out its reconnect backoff from the outage, reaches the new scheduler.
      await waitFor(() => client.status().then(() => true, () => false), 'the client reaches the restarted scheduler', { timeoutMs: 10_000, intervalMs: 100 });
      watchingAfter = Promise.all([
        collect(client, submitted.jobId, 'counts', counts, after.signal, broken),
        collect(client, submitted.jobId, 'totals', totals, after.signal, broken),
        collect(client, submitted.jobId, 'window', windows, after.signal, broken),
      ]);
    }
    const ackedAtRestart = acked.size;
    await waitFor(() => acked.size >= ackedAtRestart + 1000, `the cluster acks new pushes after the restart (${context})`, { timeoutMs: 30_000 });
    await pushes.stop();

    // Committed batches, by time; a batch committed by both incarnations must be identical.
    const unique = (list: Committed[]) => {
      const out = new Map<number, Committed>();
      for (const c of list) {
        const seen = out.get(c.t);
        if (seen) expect(sortedPairs(c.records), `batch ${c.t} committed twice with different records`).toEqual(sortedPairs(seen.records));
        else out.set(c.t, c);
      }
      return out;
    };
    const countsByTime = () => unique(counts);
    const idsSeen = () => new Set([...countsByTime().values()].flatMap((c) => c.records.filter(([w]) => w.startsWith('id')).map(([w]) => Number(w.slice(2)))));
    // Every acked id (not merely as many ids as were acked: a refused push may be counted too).
    await waitFor(() => { const seen = idsSeen(); return [...acked].every((id) => seen.has(id)); }, `every acked id counted (${acked.size} acked)`, { timeoutMs: 60_000, intervalMs: 250 }).catch((err: Error) => {
      // Say what is missing: which ids, and which batches were committed around them.
      const seen = idsSeen();
      const missing = [...acked].filter((id) => !seen.has(id)).sort((a, b) => a - b);
      const times = [...countsByTime().keys()].sort((a, b) => a - b);
      throw new Error(
        `${err.message}; ${missing.length} acked ids missing (${missing[0]}..${missing.at(-1)}); ` +
          `batches committed: ${times.map((t) => `${t % 100_000}:${countsByTime().get(t)!.records.filter(([w]) => w.startsWith('id')).length}`).join(' ')}; ` +
          `killed at ${downAt % 100_000}; ${context}; watches broken: ${broken.join(' | ') || 'none'}`,
      );
    });

    const batches = [...countsByTime().values()].sort((a, b) => a.t - b.t).map((c) => ({ t: c.t, counts: new Map(c.records) }));
    // Against the input: every acked id exactly once, nothing never pushed, every batch the word
    // count (computed here) of the lines it holds. Ids counted beyond the acked ones can only be
    // refused pushes (stored before the failure that refused them).
    const seenIn = expectExactWordCounts(batches, acked, pushes.pushed(), context);
    const counted = [...seenIn.keys()];
    expect(counted.filter((id) => !acked.has(id) && !pushes.refused.has(id)), `counted ids neither acked nor refused; ${context}`).toEqual([]);
    // No gap: the batches the dead scheduler missed were caught up on (every batch time, in order).
    const times = batches.map((b) => b.t);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `batches ${times[i - 1]} → ${times[i]}; ${context}`).toBe(500);
    expect(times.length).toBeGreaterThan(downMs / 500);

    // Reference model of the state and the window, from the lines each batch holds (which
    // batch a line fell in is the system's choice; its words come from the input).
    const colours = (ids: Iterable<number>) => {
      const m = countWords([...ids].map(idLine));
      for (const w of [...m.keys()]) if (w.startsWith('id')) m.delete(w);
      return m;
    };
    const idsAt = new Map<number, number[]>(times.map((t) => [t, []]));
    for (const [id, t] of seenIn) idsAt.get(t)!.push(id);

    // The running totals carried on: after the last batch they equal the colour count of every line counted.
    const lastT = times.at(-1)!;
    await waitFor(() => unique(totals).has(lastT), `the totals of batch ${lastT}`);
    expect(sortedPairs(unique(totals).get(lastT)!.records), `totals after batch ${lastT}; ${context}`).toEqual(sortedPairs([...colours(counted)]));
    // ...and after every batch: the totals of batch t count the lines of every batch up to t.
    const totalsChecked = [...unique(totals)].filter(([t]) => t >= times[0]!);
    for (const [t, c] of totalsChecked) {
      const upTo = times.filter((bt) => bt <= t).flatMap((bt) => idsAt.get(bt)!);
      expect(sortedPairs(c.records), `totals of batch ${t}; ${context}`).toEqual(sortedPairs([...colours(upTo)]));
    }
    expect(totalsChecked.length).toBeGreaterThanOrEqual(times.length);
    // The window (2 s = 4 batches) over the same lines, on both sides of the restart.
    await waitFor(() => unique(windows).has(lastT), `the window of batch ${lastT}`);
    let windowsChecked = 0;
    for (const [t, w] of unique(windows)) {
      if (t - 1500 < times[0]!) continue; // windows reaching before the first committed batch
      const inWindow = times.filter((bt) => bt >= t - 1500 && bt <= t).flatMap((bt) => idsAt.get(bt)!);
      expect(sortedPairs(w.records), `window of batch ${t}; ${context}`).toEqual(sortedPairs([...colours(inWindow)].filter(([, c]) => c !== 0)));
      windowsChecked++;
    }
    expect(windowsChecked).toBeGreaterThan(times.length - 5);
    before.abort();
    after.abort();
    await Promise.all([watchingBefore, watchingAfter]);
    // Only the scheduler's death may break a watch (the ones that were open at the kill).
    if (component === 'lineage') expect(broken, context).toEqual([]);
    else expect(broken.length, `watches broken by the kill: ${broken.join('; ')}`).toBeLessThanOrEqual(3);
    // The reconnecting watcher saw the same batches, each once and in order, across the restart.
    await waitFor(() => resumed.some((c) => c.t === lastT), `the reconnecting watcher reaches batch ${lastT}`);
    resuming.abort();
    await watchingAcross;
    const resumedTimes = resumed.map((c) => c.t);
    expect(resumedTimes).toEqual([...new Set(resumedTimes)].sort((a, b) => a - b));
    expect(resumedTimes.filter((t) => t <= lastT)).toEqual(times);
    for (const c of resumed) if (c.t <= lastT) expect(sortedPairs(c.records)).toEqual(sortedPairs(countsByTime().get(c.t)!.records));
    await expectJobHealthy(client, submitted.jobId);
    await client.stopJob(submitted.jobId);
  }
});

function sortedPairs(pairs: Array<[string, number]>): Array<[string, number]> {
  return [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
