/**
 * examples/windowed-wordcount.ts on a real cluster (receiver, batch clock,
 * 2 executors as processes): reduceByKeyAndWindow with an inverse over 10 s
 * sliding by 2 s emits only every 2 s, holds every pushed word while the
 * lines are in the window, drops them (filter count > 0) once they have left
 * it, and the cached window inputs are released on the executors.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import { useLocalCluster } from '../helpers/cluster.js';

const job = fileURLToPath(new URL('../../examples/windowed-wordcount.ts', import.meta.url));

describe('windowed word count on a real cluster', () => {
  let client: RivuletClient;
  useLocalCluster({ executors: 2, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'warn' }, (started) => ({ client } = started));

  it('emits every slide, counts the window, forgets what left it and releases its blocks', async () => {
    const submitted = await client.submitJob(job);
    const lines = Array.from({ length: 300 }, (_, i) => `w${i % 7} common`);
    const reference = new Map<string, number>();
    for (const l of lines) for (const w of l.split(' ')) reference.set(w, (reference.get(w) ?? 0) + 1);

    const batches: Array<{ batchTimeMs: number; counts: Map<string, number> }> = [];
    const abort = new AbortController();
    let sawFull = false;
    const watching = (async () => {
      for await (const b of client.watchOutput(submitted.jobId, 'windowCounts', { fromBeginning: true, signal: abort.signal })) {
        const counts = new Map(b.records as [string, number][]);
        batches.push({ batchTimeMs: Number(b.batchTimeMs), counts });
        if (counts.size === reference.size && [...reference].every(([w, n]) => counts.get(w) === n)) sawFull = true;
        if (sawFull && counts.size === 0) abort.abort();
      }
    })();

    const pusher = client.pusher('lines');
    expect(await pusher.push(lines)).toBe(lines.length);
    await pusher.close();
    // A deadline, not a guess: the watch ends by itself once the lines have left the window.
    const deadline = setTimeout(() => abort.abort(), 40_000);
    try {
      await watching; // a failed watch fails the test
    } finally {
      clearTimeout(deadline);
    }

    expect(sawFull, `slides: ${batches.map((b) => `${b.batchTimeMs}:${[...b.counts.values()].reduce((a, n) => a + n, 0)}`).join(' ')}`).toBe(true);
    // Never a word that was not pushed, nor more of it than was pushed.
    for (const b of batches) for (const [w, n] of b.counts) expect(n, `${w} in the window of ${b.batchTimeMs}`).toBeLessThanOrEqual(reference.get(w) ?? 0);
    expect(batches.at(-1)!.counts.size).toBe(0);
    // Only slide times: consecutive outputs 2 s apart.
    for (let i = 1; i < batches.length; i++) expect(batches[i]!.batchTimeMs - batches[i - 1]!.batchTimeMs).toBe(2000);

    // Cached partitions of batches no window can reach are dropped: the block
    // stores hold at most the window's retention (12 s = 24 batches of cached datasets).
    const status = await client.status({ recentBatches: 100 });
    const j = status.jobs.find((x) => x.jobId === submitted.jobId)!;
    expect(j.recentBatches.every((b) => b.state !== 'FAILED')).toBe(true);
    const blocks = status.executors.reduce((n, e) => n + Number(e.blockCount), 0);
    expect(blocks).toBeLessThan(2 * 2 * 4 * 26);
  }, 90_000);
});
