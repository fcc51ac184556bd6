/**
 * Chaos: kill -9 one of 3 executors while a windowed job (reduceByKeyAndWindow
 * with an inverse, examples/windowed-wordcount.ts: 10 s window, 2 s slide)
 * holds pushed lines in its window. Every cached window input has a second
 * copy, so no batch fails and the window's counts stay exact: they rise to the
 * full count, stay there, and fall back to nothing once the lines leave the window.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';

const job = fileURLToPath(new URL('../../examples/windowed-wordcount.ts', import.meta.url));

describe('chaos: an executor killed under a window', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster({ executors: 3, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'warn' }, (started) => ({ cluster, client } = started));

  it('keeps exact window counts across the loss of an executor holding cached window inputs', async () => {
    const submitted = await client.submitJob(job);
    const lines = Array.from({ length: 400 }, (_, i) => `k${i % 11} shared`);
    const reference = new Map<string, number>();
    for (const l of lines) for (const w of l.split(' ')) reference.set(w, (reference.get(w) ?? 0) + 1);
    const total = lines.length * 2;

    const totals: number[] = [];
    const abort = new AbortController();
    let fullSeen = 0;
    let killed = false;
    const watching = (async () => {
      for await (const b of client.watchOutput(submitted.jobId, 'windowCounts', { fromBeginning: true, signal: abort.signal })) {
        const counts = new Map(b.records as [string, number][]);
        for (const [w, n] of counts) expect(n).toBeLessThanOrEqual(reference.get(w)!);
        const sum = [...counts.values()].reduce((a, n) => a + n, 0);
        totals.push(sum);
        if (sum === total) fullSeen++;
        if (killed && fullSeen > 1 && counts.size === 0) abort.abort();
      }
    })();

    const pusher = client.pusher('lines');
    expect(await pusher.push(lines)).toBe(lines.length);
    await pusher.close();

    // Once the window holds every line, kill an executor.
    const start = Date.now();
    while (fullSeen === 0 && Date.now() - start < 15_000) await new Promise((r) => setTimeout(r, 50));
    expect(fullSeen).toBe(1);
    // The executor holding the most blocks (cached window inputs among them).
    const before = await client.status({ recentBatches: 0 });
    const busiest = before.executors.filter((e) => e.state === 'ALIVE').sort((a, b) => Number(b.blockCount) - Number(a.blockCount))[0]!;
    expect(Number(busiest.blockCount)).toBeGreaterThan(0);
    const victim = cluster.executors.find((e) => e.name === busiest.executorId)!;
    await victim.kill();
    killed = true;
    for (;;) {
      const st = await client.status({ recentBatches: 0 });
      if (st.executors.find((e) => e.executorId === victim.name)?.state === 'LOST') break;
      await new Promise((r) => setTimeout(r, 50));
    }

    const deadline = setTimeout(() => abort.abort(), 40_000);
    await watching.catch(() => undefined);
    clearTimeout(deadline);

    // Full count after the loss too, then nothing; never more than the lines pushed.
    expect(fullSeen).toBeGreaterThan(1);
    expect(totals.at(-1)).toBe(0);
    const peak = totals.indexOf(total);
    for (let i = 1; i <= peak; i++) expect(totals[i]!).toBeGreaterThanOrEqual(totals[i - 1]!);
    for (let i = peak + 1; i < totals.length; i++) expect(totals[i]!).toBeLessThanOrEqual(totals[i - 1]!);
    const status = await client.status({ recentBatches: 100 });
    const j = status.jobs.find((x) => x.jobId === submitted.jobId)!;
    expect(j.state).toBe('RUNNING');
    expect(j.recentBatches.filter((b) => b.state === 'FAILED')).toEqual([]);
  }, 120_000);
});
