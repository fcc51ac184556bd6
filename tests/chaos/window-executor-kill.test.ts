/**
 * Chaos: kill -9 one of 3 executors while a windowed job (reduceByKeyAndWindow
 * with an inverse, examples/windowed-wordcount.ts: 10 s window, 2 s slide)
 * holds pushed lines in its window. Every cached window input has a second
 * copy, so no batch fails and every window stays exact: each slide's output
 * equals a reference model computed here — every line has the same words, so
 * a window over batches holding n lines counts each word n times, with n from
 * the records each batch read (which must add up to the lines pushed). The
 * counts rise to the full count, a window computed after the loss still holds
 * it, and they fall back to nothing once the lines leave the window.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectJobHealthy } from '../helpers/id-lines.js';
import { waitFor } from '../helpers/wait.js';

const job = fileURLToPath(new URL('../../examples/windowed-wordcount.ts', import.meta.url));
const WINDOW_MS = 10_000;
const SLIDE_MS = 2000;
const BATCH_MS = 500;

describe('chaos: an executor killed under a window', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster({ executors: 3, slots: 2, batchInterval: `${BATCH_MS}ms`, blockInterval: '100ms', logLevel: 'warn' }, (started) => ({ cluster, client } = started));

  it('keeps exact window counts across the loss of an executor holding cached window inputs', async () => {
    const submitted = await client.submitJob(job);
    const words = [...Array.from({ length: 11 }, (_, k) => `k${k}`), 'shared'];
    const lines = Array.from({ length: 400 }, () => words.join(' '));
    const full = lines.length * words.length;

    const slides: Array<{ t: number; counts: Map<string, number> }> = [];
    const abort = new AbortController();
    const watching = (async () => {
      for await (const b of client.watchOutput(submitted.jobId, 'windowCounts', { fromBeginning: true, signal: abort.signal })) {
        slides.push({ t: Number(b.batchTimeMs), counts: new Map(b.records as [string, number][]) });
      }
    })();
    // A failed watch fails the test (checked after it is stopped), never swallowed.
    let watchError: unknown;
    const watched = watching.catch((err: unknown) => void (watchError = err));
    const total = (c: Map<string, number>) => [...c.values()].reduce((a, n) => a + n, 0);

    try {
      const pusher = client.pusher('lines');
      expect(await pusher.push(lines)).toBe(lines.length);
      await pusher.close();

      // Once the window holds every line, kill the executor holding the most blocks (cached window inputs among them).
      await waitFor(() => watchError !== undefined || slides.some((s) => total(s.counts) === full), 'a window holds every pushed line', { timeoutMs: 30_000, intervalMs: 50 });
      const before = await client.status({ recentBatches: 0 });
      const busiest = before.executors.filter((e) => e.state === 'ALIVE').sort((a, b) => Number(b.blockCount) - Number(a.blockCount))[0]!;
      expect(Number(busiest.blockCount)).toBeGreaterThan(0);
      const victim = cluster.executors.find((e) => e.name === busiest.executorId)!;
      const killedAt = Date.now();
      await victim.kill();
      await waitFor(
        async () => (await client.status({ recentBatches: 0 })).executors.find((e) => e.executorId === victim.name)?.state === 'LOST',
        `the scheduler declares ${victim.name} lost`,
        { timeoutMs: 20_000, intervalMs: 50 },
      );
      // Until the lines have left the window: an empty slide after the last full one.
      await waitFor(
        () => {
          if (watchError !== undefined) return true;
          const lastFull = slides.findLastIndex((s) => total(s.counts) === full);
          return slides.slice(lastFull + 1).some((s) => s.counts.size === 0);
        },
        'the lines leave the window',
        { timeoutMs: 40_000, intervalMs: 100 },
      );

      // The reference: how many lines each batch read (the job's status), adding up to the lines pushed.
      const status = await client.status({ recentBatches: 1000 });
      const j = status.jobs.find((x) => x.jobId === submitted.jobId)!;
      const linesAt = new Map(j.recentBatches.filter((b) => Number(b.inputRecords) > 0).map((b) => [Number(b.batchTimeMs), Number(b.inputRecords)]));
      expect([...linesAt.values()].reduce((a, n) => a + n, 0), `lines read per batch: ${JSON.stringify([...linesAt])}`).toBe(lines.length);
      const expected = (t: number) => {
        let n = 0;
        for (const [bt, c] of linesAt) if (bt > t - WINDOW_MS && bt <= t) n += c;
        return new Map(n > 0 ? words.map((w) => [w, n]) : []);
      };
      for (const s of slides) expect(s.counts, `window of slide ${s.t} (killed ${victim.name} at ${killedAt})`).toEqual(expected(s.t));
      // Every slide, none missed (consecutive outputs one slide apart).
      for (let i = 1; i < slides.length; i++) expect(slides[i]!.t - slides[i - 1]!.t).toBe(SLIDE_MS);
      // The loss struck while the window held the lines: a window computed after it still holds them all.
      expect(slides.some((s) => s.t > killedAt && total(s.counts) === full), `a full window after the kill at ${killedAt}: ${slides.map((s) => `${s.t}:${total(s.counts)}`).join(' ')}`).toBe(true);
      expect(slides.at(-1)!.counts.size).toBe(0);
      await expectJobHealthy(client, submitted.jobId);
    } finally {
      abort.abort();
      await watched;
    }
    expect(watchError).toBeUndefined();
  }, 120_000);
});
