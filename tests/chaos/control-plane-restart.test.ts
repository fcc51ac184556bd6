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
 * batch times, and the running totals and the window carry on from before
 * the crash instead of restarting from zero.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectIdsAtMostOnce, expectJobHealthy, pushIdsContinuously } from '../helpers/id-lines.js';
import { waitFor } from '../helpers/wait.js';

const job = fileURLToPath(new URL('./jobs/stateful-wordcount.ts', import.meta.url));

interface Committed {
  t: number;
  records: Array<[string, number]>;
}

/** Every batch of one output committed by the scheduler serving now, until aborted or the stream breaks. */
function collect(client: RivuletClient, jobId: string, output: string, into: Committed[], abort: AbortSignal): Promise<void> {
  return (async () => {
    for await (const b of client.watchOutput(jobId, output, { fromBeginning: true, signal: abort })) {
      into.push({ t: b.batchTimeMs, records: b.records as Array<[string, number]> });
    }
  })().catch(() => undefined); // ends with the scheduler that served it
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
    const watchingBefore = Promise.all([
      collect(client, submitted.jobId, 'counts', counts, before.signal),
      collect(client, submitted.jobId, 'totals', totals, before.signal),
      collect(client, submitted.jobId, 'window', windows, before.signal),
    ]);

    const pushes = pushIdsContinuously(client, 'lines', 100);
    const acked = pushes.acked;

    // Let some batches complete (state built up), then kill the process at a random moment.
    await waitFor(() => totals.length >= 3, 'three batches committed before the crash', { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, Math.random() * 500));
    await (component === 'scheduler' ? cluster.scheduler : cluster.lineage).kill();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 700 + Math.random() * 800));
    await (component === 'scheduler' ? cluster.restartScheduler() : cluster.restartLineage());
    const downMs = Date.now() - downAt;

    const after = new AbortController();
    let watchingAfter: Promise<unknown> = Promise.resolve();
    if (component === 'scheduler') {
      await watchingBefore; // their streams broke with the old scheduler
      watchingAfter = Promise.all([
        collect(client, submitted.jobId, 'counts', counts, after.signal),
        collect(client, submitted.jobId, 'totals', totals, after.signal),
        collect(client, submitted.jobId, 'window', windows, after.signal),
      ]);
    }
    const ackedAtRestart = acked.size;
    await waitFor(() => acked.size >= ackedAtRestart + 1000, 'the cluster acks new pushes after the restart', { timeoutMs: 30_000 });
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
    const idsSeen = () => [...countsByTime().values()].reduce((n, c) => n + c.records.filter(([w]) => w.startsWith('id')).length, 0);
    await waitFor(() => idsSeen() >= acked.size, `every acked id counted (${acked.size} acked)`, { timeoutMs: 60_000 }).catch((err: Error) => {
      // Say what is missing: which ids, and which batches were committed around them.
      const seen = new Set([...countsByTime().values()].flatMap((c) => c.records.filter(([w]) => w.startsWith('id')).map(([w]) => Number(w.slice(2)))));
      const missing = [...acked].filter((id) => !seen.has(id)).sort((a, b) => a - b);
      const times = [...countsByTime().keys()].sort((a, b) => a - b);
      throw new Error(
        `${err.message}; ${missing.length} acked ids missing (${missing[0]}..${missing.at(-1)}); ` +
          `batches committed: ${times.map((t) => `${t % 100_000}:${countsByTime().get(t)!.records.filter(([w]) => w.startsWith('id')).length}`).join(' ')}; ` +
          `killed at ${downAt % 100_000}`,
      );
    });

    const batches = [...countsByTime().values()].sort((a, b) => a.t - b.t).map((c) => ({ t: c.t, counts: new Map(c.records) }));
    const seenIn = expectIdsAtMostOnce(batches);
    expect([...acked].filter((id) => !seenIn.has(id)), 'acked ids never counted').toEqual([]);
    // No gap: the batches the dead scheduler missed were caught up on (every batch time, in order).
    const times = batches.map((b) => b.t);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `batches ${times[i - 1]} → ${times[i]}`).toBe(500);
    expect(times.length).toBeGreaterThan(downMs / 500);

    // The running totals carried on: after the last batch they equal the sum of every batch's counts.
    const lastT = times.at(-1)!;
    await waitFor(() => unique(totals).has(lastT), `the totals of batch ${lastT}`);
    const expected = new Map<string, number>();
    for (const b of batches) for (const [w, c] of b.counts) if (!w.startsWith('id')) expected.set(w, (expected.get(w) ?? 0) + c);
    expect(sortedPairs(unique(totals).get(lastT)!.records)).toEqual(sortedPairs([...expected]));
    // The window (2 s = 4 batches) over the same counts, on both sides of the restart.
    await waitFor(() => unique(windows).has(lastT), `the window of batch ${lastT}`);
    const countsAt = new Map(batches.map((b) => [b.t, b.counts]));
    let windowsChecked = 0;
    for (const [t, w] of unique(windows)) {
      if (t - 1500 < times[0]!) continue; // windows reaching before the first committed batch
      const expectedWindow = new Map<string, number>();
      for (let bt = t - 1500; bt <= t; bt += 500) {
        for (const [word, c] of countsAt.get(bt) ?? []) if (!word.startsWith('id')) expectedWindow.set(word, (expectedWindow.get(word) ?? 0) + c);
      }
      expect(sortedPairs(w.records), `window of batch ${t}`).toEqual(sortedPairs([...expectedWindow].filter(([, c]) => c !== 0)));
      windowsChecked++;
    }
    expect(windowsChecked).toBeGreaterThan(times.length - 5);
    before.abort();
    after.abort();
    await Promise.all([watchingBefore, watchingAfter]);
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
