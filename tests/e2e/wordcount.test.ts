/**
 * The walking skeleton end to end: nats-server + lineage + scheduler +
 * receiver + 2 executors as separate processes, 100k+ known lines pushed
 * through the client SDK, per-batch word counts read back over WatchOutput.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const LINES = 120_000;
const VOCABULARY = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];

/** Line i: a unique token (so each record's exactly-once fate is visible) and some shared words. */
function line(i: number): string {
  const words = [`id${i}`];
  for (let k = 0; k <= i % 4; k++) words.push(VOCABULARY[(i * 7 + k * 3) % VOCABULARY.length]!);
  return words.join(' ');
}

describe('word count on a real cluster', () => {
  let client: RivuletClient;
  useLocalCluster({ executors: 2, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'warn' }, (started) => ({ client } = started));

  it('counts every acked record exactly once, on both executors, with locality', async () => {
    const job = await client.submitJob(wordcount);
    expect(job.streams).toEqual(['lines']);
    expect(job.outputs).toEqual(['counts']);

    // Batches with no input complete too (an empty batch must never stall the job).
    await waitFor(
      async () => {
        const j = (await client.status()).jobs.find((x) => x.jobId === job.jobId)!;
        return j.recentBatches.some((b) => b.state === 'COMPLETED' && Number(b.inputRecords) === 0);
      },
      'a batch with no input completed',
      { timeoutMs: 20_000, intervalMs: 100 },
    );

    const totals = new Map<string, number>();
    let idsSeen = 0;
    let duplicateIds = 0;
    const abort = new AbortController();
    const watching = (async () => {
      for await (const batch of client.watchOutput(job.jobId, 'counts', { fromBeginning: true, signal: abort.signal })) {
        for (const [word, count] of batch.records as [string, number][]) {
          const before = totals.get(word) ?? 0;
          totals.set(word, before + count);
          if (word.startsWith('id')) {
            if (before === 0 && count === 1) idsSeen++;
            else duplicateIds++;
          }
        }
        if (idsSeen >= LINES) abort.abort();
      }
    })();

    const pusher = client.pusher('lines');
    const chunk = 5000;
    let acked = 0;
    const reference = new Map<string, number>();
    for (let start = 0; start < LINES; start += chunk) {
      const lines = Array.from({ length: Math.min(chunk, LINES - start) }, (_, k) => line(start + k));
      for (const l of lines) for (const w of l.split(' ')) reference.set(w, (reference.get(w) ?? 0) + 1);
      acked += await pusher.push(lines);
    }
    await pusher.close();
    expect(acked).toBe(LINES);

    const deadline = setTimeout(() => abort.abort(), 60_000);
    await watching;
    clearTimeout(deadline);
    expect(duplicateIds).toBe(0);
    expect(idsSeen).toBe(LINES);
    expect(totals).toEqual(reference);

    const status = await client.status({ recentBatches: 1000 });
    const executors = status.executors.filter((e) => e.state === 'ALIVE');
    expect(executors).toHaveLength(2);
    for (const e of executors) expect(Number(e.tasksCompleted)).toBeGreaterThan(0);
    const batches = status.jobs.find((j) => j.jobId === job.jobId)!.recentBatches;
    const local = batches.reduce((n, b) => n + b.processLocalTasks, 0);
    const inputTasks = batches.reduce((n, b) => n + b.processLocalTasks + b.nodeLocalTasks + b.anyTasks, 0);
    expect(inputTasks).toBeGreaterThan(0);
    expect(local / inputTasks).toBeGreaterThanOrEqual(0.9);
    expect(batches.every((b) => b.state !== 'FAILED')).toBe(true);
  }, 120_000);
});
